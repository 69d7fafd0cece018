package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// A minimal rtnetlink client: the agent needs link, address and route
// messages and nothing else, so it does not pull in a netlink library.
// Netlink is in host byte order.

// ne is typed as the interface: gobusybox rewrites package variables with
// their declared type, and NativeEndian's own type is unexported.
var ne binary.ByteOrder = binary.NativeEndian

// nlMsg builds one netlink message: a header, a fixed body, attributes.
type nlMsg struct{ b []byte }

func newMsg(typ, flags uint16, body []byte) *nlMsg {
	b := make([]byte, unix.NLMSG_HDRLEN, 256)
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], flags|unix.NLM_F_REQUEST)
	return &nlMsg{append(b, body...)}
}

// attr appends an rtattr, padded to four bytes.
func (m *nlMsg) attr(typ uint16, data []byte) *nlMsg {
	var h [unix.SizeofRtAttr]byte
	ne.PutUint16(h[0:], uint16(unix.SizeofRtAttr+len(data)))
	ne.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.b = append(m.b, data...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
	return m
}

func (m *nlMsg) u32(typ uint16, v uint32) *nlMsg {
	var b [4]byte
	ne.PutUint32(b[:], v)
	return m.attr(typ, b[:])
}

// bytes finishes the message with its length and sequence number.
func (m *nlMsg) bytes(seq uint32) []byte {
	ne.PutUint32(m.b[0:], uint32(len(m.b)))
	ne.PutUint32(m.b[8:], seq)
	return m.b
}

// ifInfo is struct ifinfomsg.
func ifInfo(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	ne.PutUint32(b[4:], uint32(index))
	ne.PutUint32(b[8:], flags)
	ne.PutUint32(b[12:], change)
	return b
}

// nlConn is a NETLINK_ROUTE socket for requests and dumps.
type nlConn struct {
	fd  int
	seq uint32
	buf []byte
}

// openNetlink opens a route socket; groups subscribes it to multicast
// groups (RTMGRP_*), 0 for a request socket.
func openNetlink(groups uint32) (*nlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &nlConn{fd: fd, buf: make([]byte, 64<<10)}, nil
}

func (c *nlConn) Close() error { return unix.Close(c.fd) }

// receive reads one datagram of messages. They are copied out of the
// receive buffer: a dump spans several datagrams.
func (c *nlConn) receive() ([]syscall.NetlinkMessage, error) {
	n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
	if err != nil {
		return nil, err
	}
	return syscall.ParseNetlinkMessage(append([]byte(nil), c.buf[:n]...))
}

// exchange sends m and collects the answers up to its ACK or the end of
// its dump. Messages for other sequence numbers are skipped.
func (c *nlConn) exchange(m *nlMsg) ([]syscall.NetlinkMessage, error) {
	c.seq++
	seq := c.seq
	if err := unix.Sendto(c.fd, m.bytes(seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out []syscall.NetlinkMessage
	for {
		msgs, err := c.receive()
		if err != nil {
			return nil, err
		}
		for _, r := range msgs {
			if r.Header.Seq != seq {
				continue
			}
			switch r.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				return out, nlError(r.Data)
			}
			out = append(out, r)
			if r.Header.Flags&unix.NLM_F_MULTI == 0 {
				return out, nil
			}
		}
	}
}

// nlError decodes struct nlmsgerr; error 0 is an ACK.
func nlError(data []byte) error {
	if len(data) < 4 {
		return errors.New("netlink: short error message")
	}
	if e := int32(ne.Uint32(data)); e != 0 {
		return syscall.Errno(-e)
	}
	return nil
}

// do sends a request that changes something and waits for its ACK.
func (c *nlConn) do(m *nlMsg) error {
	ne.PutUint16(m.b[6:], ne.Uint16(m.b[6:])|unix.NLM_F_ACK)
	_, err := c.exchange(m)
	return err
}

// dump runs a dump request of typ (RTM_GETLINK, ...) for family.
func (c *nlConn) dump(typ uint16, body []byte) ([]syscall.NetlinkMessage, error) {
	return c.exchange(newMsg(typ, unix.NLM_F_DUMP, body))
}

// bodyLen is the fixed part before the attributes of each message type.
var bodyLen = map[uint16]int{
	unix.RTM_NEWLINK: unix.SizeofIfInfomsg, unix.RTM_DELLINK: unix.SizeofIfInfomsg,
	unix.RTM_NEWADDR: unix.SizeofIfAddrmsg, unix.RTM_DELADDR: unix.SizeofIfAddrmsg,
	unix.RTM_NEWROUTE: unix.SizeofRtMsg, unix.RTM_DELROUTE: unix.SizeofRtMsg,
}

// attrs indexes a message's attributes by type (the last one wins).
func attrs(m syscall.NetlinkMessage) (map[uint16][]byte, error) {
	if n, ok := bodyLen[m.Header.Type]; !ok || len(m.Data) < n {
		return nil, fmt.Errorf("netlink message type %d with %d bytes", m.Header.Type, len(m.Data))
	}
	list, err := syscall.ParseNetlinkRouteAttr(&m)
	if err != nil {
		return nil, err
	}
	out := make(map[uint16][]byte, len(list))
	for _, a := range list {
		out[a.Attr.Type] = a.Value
	}
	return out, nil
}
