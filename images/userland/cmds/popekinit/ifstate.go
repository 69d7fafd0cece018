package main

import (
	"fmt"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ifaceState is the IPv4 configuration of an interface that a driver
// rebind destroys and the agent puts back.
type ifaceState struct {
	name   string
	up     bool
	addrs  []savedAddr
	routes []savedRoute
}

type savedAddr struct {
	prefixLen, scope          uint8
	flags                     uint32
	local, address, broadcast []byte // nil when absent
	label                     string
	// preferred and valid are the seconds left; lifetimeForever for none.
	preferred, valid uint32
}

const lifetimeForever = 0xffffffff

// addrFlagsKernel are address flags the kernel derives itself.
const addrFlagsKernel = unix.IFA_F_SECONDARY | unix.IFA_F_PERMANENT | unix.IFA_F_DEPRECATED | unix.IFA_F_TENTATIVE | unix.IFA_F_DADFAILED

type savedRoute struct {
	dstLen, tos, protocol, scope, typ uint8
	table                             uint32
	dst, gateway, prefsrc             []byte
	priority                          []byte // RTA_PRIORITY as it came
	metrics                           []byte // RTA_METRICS, nested, as it came
}

// parseAddrs picks the IPv4 addresses of interface index from an
// RTM_GETADDR dump.
func parseAddrs(msgs []syscall.NetlinkMessage, index int32) ([]savedAddr, error) {
	var out []savedAddr
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR {
			continue
		}
		a, err := attrs(m)
		if err != nil {
			return nil, err
		}
		d := m.Data
		if d[0] != unix.AF_INET || int32(ne.Uint32(d[4:])) != index {
			continue
		}
		s := savedAddr{prefixLen: d[1], flags: uint32(d[2]), scope: d[3], preferred: lifetimeForever, valid: lifetimeForever}
		if v := a[unix.IFA_FLAGS]; len(v) == 4 {
			s.flags = ne.Uint32(v)
		}
		s.flags &^= addrFlagsKernel
		s.local, s.address, s.broadcast = ip4(a[unix.IFA_LOCAL]), ip4(a[unix.IFA_ADDRESS]), ip4(a[unix.IFA_BROADCAST])
		s.label = cString(a[unix.IFA_LABEL])
		if v := a[unix.IFA_CACHEINFO]; len(v) >= 8 {
			s.preferred, s.valid = ne.Uint32(v[0:]), ne.Uint32(v[4:])
		}
		if s.local == nil && s.address == nil {
			return nil, fmt.Errorf("address message for interface %d without an address", index)
		}
		out = append(out, s)
	}
	return out, nil
}

// ip4 is v when it is an IPv4 address, else nil.
func ip4(v []byte) []byte {
	if len(v) != 4 {
		return nil
	}
	return append([]byte(nil), v...)
}

// parseRoutes picks the IPv4 routes through interface index from an
// RTM_GETROUTE dump that the agent must restore: not the local table's
// and not the kernel's own (those come back with the addresses), single
// path unicast only.
func parseRoutes(msgs []syscall.NetlinkMessage, index int32) ([]savedRoute, error) {
	var out []savedRoute
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE {
			continue
		}
		a, err := attrs(m)
		if err != nil {
			return nil, err
		}
		d := m.Data
		r := savedRoute{dstLen: d[1], tos: d[3], table: uint32(d[4]), protocol: d[5], scope: d[6], typ: d[7]}
		flags := ne.Uint32(d[8:])
		if v := a[unix.RTA_TABLE]; len(v) == 4 {
			r.table = ne.Uint32(v)
		}
		oif := a[unix.RTA_OIF]
		if d[0] != unix.AF_INET || len(oif) != 4 || int32(ne.Uint32(oif)) != index ||
			r.table == unix.RT_TABLE_LOCAL || r.protocol == unix.RTPROT_KERNEL ||
			r.typ != unix.RTN_UNICAST || flags&unix.RTM_F_CLONED != 0 || a[unix.RTA_MULTIPATH] != nil {
			continue
		}
		r.dst, r.gateway, r.prefsrc = ip4(a[unix.RTA_DST]), ip4(a[unix.RTA_GATEWAY]), ip4(a[unix.RTA_PREFSRC])
		if v := a[unix.RTA_PRIORITY]; len(v) == 4 {
			r.priority = append([]byte(nil), v...)
		}
		if v := a[unix.RTA_METRICS]; len(v) > 0 {
			r.metrics = append([]byte(nil), v...)
		}
		out = append(out, r)
	}
	return out, nil
}

// restorePlan is the requests that give interface index (now called name)
// the saved state: admin up first, then the addresses (their prefix routes
// follow from them), then the routes, those without a gateway first since
// gateways must be reachable through them. Routes need the link up; the
// kernel drops them with it anyway.
func restorePlan(st ifaceState, index int32, name string) []*nlMsg {
	var plan []*nlMsg
	if st.up {
		plan = append(plan, newMsg(unix.RTM_NEWLINK, 0, ifInfo(index, unix.IFF_UP, unix.IFF_UP)))
	}
	for _, a := range st.addrs {
		plan = append(plan, addAddr(a, index, st.name, name))
	}
	if !st.up {
		return plan
	}
	routes := append([]savedRoute(nil), st.routes...)
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].gateway == nil && routes[j].gateway != nil })
	for _, r := range routes {
		plan = append(plan, addRoute(r, index))
	}
	return plan
}

func addAddr(a savedAddr, index int32, oldName, newName string) *nlMsg {
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0], body[1], body[2], body[3] = unix.AF_INET, a.prefixLen, byte(a.flags), a.scope
	ne.PutUint32(body[4:], uint32(index))
	m := newMsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	for _, f := range []struct {
		typ uint16
		v   []byte
	}{{unix.IFA_LOCAL, a.local}, {unix.IFA_ADDRESS, a.address}, {unix.IFA_BROADCAST, a.broadcast}} {
		if f.v != nil {
			m.attr(f.typ, f.v)
		}
	}
	m.u32(unix.IFA_FLAGS, a.flags)
	if a.label != "" {
		// An alias label (eth0:1) must start with the device's name.
		label := a.label
		if rest, ok := strings.CutPrefix(label, oldName); ok {
			label = newName + rest
		}
		m.attr(unix.IFA_LABEL, append([]byte(label), 0))
	}
	if a.valid != lifetimeForever {
		ci := make([]byte, unix.SizeofIfaCacheinfo)
		ne.PutUint32(ci[0:], a.preferred)
		ne.PutUint32(ci[4:], a.valid)
		m.attr(unix.IFA_CACHEINFO, ci)
	}
	return m
}

func addRoute(r savedRoute, index int32) *nlMsg {
	body := make([]byte, unix.SizeofRtMsg)
	body[0], body[1], body[3] = unix.AF_INET, r.dstLen, r.tos
	body[4] = unix.RT_TABLE_COMPAT
	if r.table < 256 {
		body[4] = byte(r.table)
	}
	body[5], body[6], body[7] = r.protocol, r.scope, r.typ
	m := newMsg(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
	m.u32(unix.RTA_TABLE, r.table)
	for _, f := range []struct {
		typ uint16
		v   []byte
	}{{unix.RTA_DST, r.dst}, {unix.RTA_GATEWAY, r.gateway}, {unix.RTA_PREFSRC, r.prefsrc},
		{unix.RTA_PRIORITY, r.priority}, {unix.RTA_METRICS, r.metrics}} {
		if f.v != nil {
			m.attr(f.typ, f.v)
		}
	}
	m.u32(unix.RTA_OIF, uint32(index))
	return m
}

// summary is the state for the agent's log line.
func (st ifaceState) summary() string {
	var addrs []string
	for _, a := range st.addrs {
		ip := a.local
		if ip == nil {
			ip = a.address
		}
		addrs = append(addrs, fmt.Sprintf("%d.%d.%d.%d/%d", ip[0], ip[1], ip[2], ip[3], a.prefixLen))
	}
	state := "down"
	if st.up {
		state = "up"
	}
	return fmt.Sprintf("%s, addresses [%s], %d routes", state, strings.Join(addrs, " "), len(st.routes))
}
