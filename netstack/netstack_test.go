package netstack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

var guestMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc}

func TestParseHostFwd(t *testing.T) {
	cases := []struct {
		in      string
		want    HostForward
		wantErr bool
	}{
		{in: "tcp:127.0.0.1:2222-:22", want: HostForward{"127.0.0.1:2222", 22}},
		{in: "tcp::8080-:80", want: HostForward{"127.0.0.1:8080", 80}},
		{in: "::8080-10.0.2.15:80", want: HostForward{"127.0.0.1:8080", 80}},
		{in: "tcp:0.0.0.0:0-:443", want: HostForward{"0.0.0.0:0", 443}},
		{in: "udp::53-:53", wantErr: true},
		{in: "tcp::8080-10.0.2.16:80", wantErr: true},
		{in: "tcp::8080:80", wantErr: true},
		{in: "tcp:localhost:8080-:80", wantErr: true},
		{in: "tcp::70000-:80", wantErr: true},
		{in: "tcp::8080-:0", wantErr: true},
		{in: "tcp::8080-80", wantErr: true},
	}
	for _, c := range cases {
		got, err := ParseHostFwd(c.in)
		if (err != nil) != c.wantErr || (!c.wantErr && got != c.want) {
			t.Errorf("ParseHostFwd(%q) = %+v, %v; want %+v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

// udpFrame builds an Ethernet/IPv4/UDP frame (UDP checksum 0: none).
func udpFrame(src, dst net.HardwareAddr, srcIP, dstIP net.IP, sport, dport uint16, payload []byte) []byte {
	b := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+header.UDPMinimumSize+len(payload))
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: tcpip.LinkAddress(src), DstAddr: tcpip.LinkAddress(dst), Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(b[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b) - header.EthernetMinimumSize), TTL: 64,
		Protocol: uint8(header.UDPProtocolNumber),
		SrcAddr:  tcpip.AddrFrom4Slice(srcIP.To4()), DstAddr: tcpip.AddrFrom4Slice(dstIP.To4()),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	u := header.UDP(ip.Payload())
	u.Encode(&header.UDPFields{SrcPort: sport, DstPort: dport, Length: uint16(header.UDPMinimumSize + len(payload))})
	copy(u.Payload(), payload)
	return b
}

// dhcpReply waits for a DHCP message to the client port among the frames
// the network delivers.
func dhcpReply(t *testing.T, frames <-chan []byte) *dhcpv4.DHCPv4 {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-frames:
			eth := header.Ethernet(f)
			if eth.Type() != header.IPv4ProtocolNumber {
				continue
			}
			ip := header.IPv4(f[header.EthernetMinimumSize:])
			if ip.Protocol() != uint8(header.UDPProtocolNumber) {
				continue
			}
			u := header.UDP(ip.Payload())
			if u.DestinationPort() != dhcpv4.ClientPort {
				continue
			}
			m, err := dhcpv4.FromBytes(u.Payload())
			if err != nil {
				t.Fatalf("bad DHCP reply: %v", err)
			}
			return m
		case <-deadline:
			t.Fatal("no DHCP reply")
		}
	}
}

// dhcpExchange runs DISCOVER/OFFER/REQUEST/ACK as the guest and returns the
// ACK.
func dhcpExchange(t *testing.T, s *Stack, frames <-chan []byte) *dhcpv4.DHCPv4 {
	t.Helper()
	bcastMAC := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	send := func(m *dhcpv4.DHCPv4) {
		s.Send(udpFrame(guestMAC, bcastMAC, net.IPv4zero, net.IPv4bcast, dhcpv4.ClientPort, dhcpv4.ServerPort, m.ToBytes()))
	}
	disc, err := dhcpv4.NewDiscovery(guestMAC)
	if err != nil {
		t.Fatal(err)
	}
	send(disc)
	offer := dhcpReply(t, frames)
	if offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("got %s, want an offer", offer.MessageType())
	}
	req, err := dhcpv4.NewRequestFromOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	send(req)
	ack := dhcpReply(t, frames)
	if ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("got %s, want an ack", ack.MessageType())
	}
	return ack
}

// guestStack is a gVisor TCP/IP stack standing in for the guest kernel,
// wired to the user network's frame interface.
func guestStack(t *testing.T, s *Stack, frames <-chan []byte) *stack.Stack {
	t.Helper()
	ch := channel.New(256, DefaultMTU, tcpip.LinkAddress(guestMAC))
	gs := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	if err := gs.CreateNIC(1, ethernet.New(ch)); err != nil {
		t.Fatal(err)
	}
	addr := tcpip.AddrFrom4Slice(net.ParseIP(GuestIP).To4())
	if err := gs.AddProtocolAddress(1, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: addr.WithPrefix()}, stack.AddressProperties{}); err != nil {
		t.Fatal(err)
	}
	gs.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4Slice(net.ParseIP(GatewayIP).To4()), NIC: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { // guest to network
		defer func() { done <- struct{}{} }()
		for {
			pkt := ch.ReadContext(ctx)
			if pkt == nil {
				return
			}
			s.Send(pkt.ToView().AsSlice())
			pkt.DecRef()
		}
	}()
	go func() { // network to guest
		defer func() { done <- struct{}{} }()
		for {
			select {
			case f := <-frames:
				pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(f)})
				ch.InjectInbound(0, pkt)
				pkt.DecRef()
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		gs.Close()
	})
	return gs
}

func newTestStack(t *testing.T, fwd ...HostForward) (*Stack, <-chan []byte) {
	t.Helper()
	s, err := New(Config{MAC: guestMAC, Forwards: fwd})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	frames := make(chan []byte, 1024)
	s.SetReceiver(func(f []byte) {
		select {
		case frames <- bytes.Clone(f):
		default:
		}
	})
	return s, frames
}

func TestDHCPLeasesGuestAddress(t *testing.T) {
	s, frames := newTestStack(t)
	ack := dhcpExchange(t, s, frames)
	gw := net.ParseIP(GatewayIP).To4()
	if !ack.YourIPAddr.Equal(net.ParseIP(GuestIP)) {
		t.Errorf("leased %s, want %s", ack.YourIPAddr, GuestIP)
	}
	if r := ack.Router(); len(r) != 1 || !r[0].Equal(gw) {
		t.Errorf("router %v", r)
	}
	if d := ack.DNS(); len(d) != 1 || !d[0].Equal(gw) {
		t.Errorf("dns %v", d)
	}
	if m := net.IP(ack.SubnetMask()); !m.Equal(net.IPv4(255, 255, 255, 0).To4()) {
		t.Errorf("mask %v", m)
	}
}

// The guest fetches a page from an HTTP server on the host's loopback via
// the gateway address, through the NAT.
func TestNATReachesHostLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	s, frames := newTestStack(t)
	dhcpExchange(t, s, frames)
	gs := guestStack(t, s, frames)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return gonet.DialContextTCP(ctx, gs, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4Slice(net.ParseIP(GatewayIP).To4()), Port: uint16(port)}, ipv4.ProtocolNumber)
		},
	}}
	resp, err := client.Get(fmt.Sprintf("http://%s:%d/from-guest", GatewayIP, port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello /from-guest" {
		t.Fatalf("body %q", body)
	}
	client.CloseIdleConnections()
}

// A host connection to a forward reaches a server in the guest.
func TestHostForwardReachesGuest(t *testing.T) {
	s, frames := newTestStack(t, HostForward{HostAddr: "127.0.0.1:0", GuestPort: 8080})
	gs := guestStack(t, s, frames)
	ln, err := gonet.ListenTCP(gs, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4Slice(net.ParseIP(GuestIP).To4()), Port: 8080}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "guest got %s", line)
	}()

	addr := s.ForwardAddrs()[0].String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "ping\n")
	c.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "guest got ping\n" {
		t.Fatalf("reply %q, %v", reply, err)
	}

	s.Close()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("forward still listening after Close")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{MAC: net.HardwareAddr{1, 2}}); err == nil {
		t.Fatal("short MAC accepted")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := New(Config{MAC: guestMAC, Forwards: []HostForward{{HostAddr: taken.Addr().String(), GuestPort: 22}}}); err == nil {
		t.Fatal("forward on a busy port accepted")
	}
}

func TestFrameConnPlumbing(t *testing.T) {
	c := newFrameConn()
	var got [][]byte
	deliver := func(f []byte) { got = append(got, bytes.Clone(f)) }
	c.deliver.Store(&deliver)
	for i := range frameQueueLen + 3 {
		c.send([]byte{byte(i), 1, 2})
	}
	if c.dropped.Load() != 3 {
		t.Fatalf("dropped %d, want 3", c.dropped.Load())
	}
	buf := make([]byte, 2048)
	if n, err := c.Read(buf); err != nil || !bytes.Equal(buf[:n], []byte{0, 1, 2}) {
		t.Fatalf("read %x, %v", buf[:n], err)
	}
	c.Write([]byte("to guest"))
	if len(got) != 1 || string(got[0]) != "to guest" {
		t.Fatalf("delivered %q", got)
	}
	c.Close()
	// Queued frames may still come out, then one sentinel, then EOF.
	sentinels, eof := 0, false
	for range frameQueueLen + 2 {
		n, err := c.Read(buf)
		if err == io.EOF {
			eof = true
			break
		}
		if n == 14 && bytes.Equal(buf[:14], make([]byte, 14)) {
			sentinels++
		}
	}
	if sentinels != 1 || !eof {
		t.Fatalf("after close: %d sentinels, EOF %v", sentinels, eof)
	}
	c.Write([]byte("after close"))
	if len(got) != 1 {
		t.Fatal("frame delivered after close")
	}
}
