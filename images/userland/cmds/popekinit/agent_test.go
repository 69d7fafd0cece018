package main

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// kernelMsg is m as the kernel would send it, parsed back.
func kernelMsg(t *testing.T, m *nlMsg) syscall.NetlinkMessage {
	t.Helper()
	msgs, err := syscall.ParseNetlinkMessage(m.bytes(0))
	if err != nil || len(msgs) != 1 {
		t.Fatalf("parse %x: %v", m.b, err)
	}
	return msgs[0]
}

func linkMsg(t *testing.T, index int32, name string, flags uint32, carrier bool, down uint32) syscall.NetlinkMessage {
	c := byte(0)
	if carrier {
		c = 1
	}
	m := newMsg(unix.RTM_NEWLINK, 0, ifInfo(index, flags, 0)).
		attr(unix.IFLA_IFNAME, append([]byte(name), 0)).
		attr(unix.IFLA_CARRIER, []byte{c}).
		u32(unix.IFLA_CARRIER_DOWN_COUNT, down)
	return kernelMsg(t, m)
}

func TestParseLink(t *testing.T) {
	l, err := parseLink(linkMsg(t, 2, "eth0", unix.IFF_UP|unix.IFF_BROADCAST, true, 3))
	if err != nil {
		t.Fatal(err)
	}
	if l != (linkInfo{index: 2, name: "eth0", flags: unix.IFF_UP | unix.IFF_BROADCAST, carrier: true, downCount: 3}) || !l.up() {
		t.Fatalf("parsed %+v", l)
	}
	bad := []syscall.NetlinkMessage{
		{Header: syscall.NlMsghdr{Type: unix.RTM_NEWLINK}, Data: make([]byte, 4)},                         // short body
		{Header: syscall.NlMsghdr{Type: unix.RTM_NEWADDR}, Data: make([]byte, 64)},                        // not a link
		{Header: syscall.NlMsghdr{Type: unix.RTM_NEWLINK}, Data: append(make([]byte, 16), 0xff, 0, 3, 0)}, // attribute overruns
	}
	for i, m := range bad {
		if _, err := parseLink(m); err == nil {
			t.Errorf("bad message %d accepted", i)
		}
	}
}

// The tracker fires once per completed flap: when the carrier is up
// again after the down counter moved, whether the kernel reported the
// down state separately or coalesced it.
func TestLinkTracker(t *testing.T) {
	const up = unix.IFF_UP
	type step struct {
		flags   uint32
		carrier bool
		down    uint32
		want    bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first sight is a baseline", []step{{up, true, 5, false}}},
		{"down then up", []step{{up, true, 1, false}, {up, false, 2, false}, {up, true, 2, true}, {up, true, 2, false}}},
		{"coalesced flap", []step{{up, true, 1, false}, {up, true, 2, true}}},
		{"admin down and up keeps the carrier", []step{{up, true, 1, false}, {0, true, 1, false}, {up, true, 1, false}}},
		{"flap while admin down shows at ifup", []step{{0, true, 1, false}, {0, true, 2, false}, {up, true, 2, true}}},
		{"still down", []step{{up, true, 1, false}, {up, false, 2, false}, {up, false, 2, false}}},
		{"two flaps", []step{{up, true, 1, false}, {up, true, 2, true}, {up, false, 3, false}, {up, true, 3, true}}},
		{"counter wraps", []step{{up, true, 0xffffffff, false}, {up, true, 0, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newLinkTracker()
			for i, s := range c.steps {
				l, err := parseLink(linkMsg(t, 2, "eth0", s.flags, s.carrier, s.down))
				if err != nil {
					t.Fatal(err)
				}
				if got := tr.observe(l); got != s.want {
					t.Fatalf("step %d %+v: flap %v, want %v", i, s, got, s.want)
				}
			}
		})
	}
}

// A rebound interface's own probe (carrier off, then on) is not a flap
// once its baseline is set, and a forgotten index starts afresh.
func TestLinkTrackerResetAndForget(t *testing.T) {
	tr := newLinkTracker()
	tr.reset(linkInfo{index: 3, downCount: 1})
	for _, l := range []linkInfo{{index: 3, downCount: 0}, {index: 3, flags: unix.IFF_UP, downCount: 1}, {index: 3, flags: unix.IFF_UP, carrier: true, downCount: 1}} {
		if tr.observe(l) {
			t.Fatalf("%+v taken for a flap after reset", l)
		}
	}
	tr.forget(3)
	if tr.observe(linkInfo{index: 3, flags: unix.IFF_UP, carrier: true, downCount: 9}) {
		t.Fatal("first sight after forget taken for a flap")
	}
}

func addrMsg(t *testing.T, family, prefix, flags byte, index int32, local []byte, extra func(*nlMsg)) syscall.NetlinkMessage {
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0], body[1], body[2] = family, prefix, flags
	ne.PutUint32(body[4:], uint32(index))
	m := newMsg(unix.RTM_NEWADDR, 0, body).attr(unix.IFA_LOCAL, local).attr(unix.IFA_ADDRESS, local)
	if extra != nil {
		extra(m)
	}
	return kernelMsg(t, m)
}

type route struct {
	family, dstLen, table, proto, scope, typ byte
	oif                                      int32
	dst, gw                                  []byte
}

func routeMsg(t *testing.T, r route) syscall.NetlinkMessage {
	body := make([]byte, unix.SizeofRtMsg)
	body[0], body[1], body[4], body[5], body[6], body[7] = r.family, r.dstLen, r.table, r.proto, r.scope, r.typ
	m := newMsg(unix.RTM_NEWROUTE, 0, body).u32(unix.RTA_TABLE, uint32(r.table)).u32(unix.RTA_OIF, uint32(r.oif))
	if r.dst != nil {
		m.attr(unix.RTA_DST, r.dst)
	}
	if r.gw != nil {
		m.attr(unix.RTA_GATEWAY, r.gw)
	}
	return kernelMsg(t, m)
}

var (
	ip15  = []byte{10, 0, 2, 15}
	ip2   = []byte{10, 0, 2, 2}
	net0  = []byte{10, 0, 2, 0}
	alias = []byte{192, 168, 7, 1}
)

// eth0 (index 2) as `ip addr add 10.0.2.15/24`, an alias with a lease, a
// default route, and what must be left alone.
func sampleDumps(t *testing.T) (addrs, routes []syscall.NetlinkMessage) {
	addrs = []syscall.NetlinkMessage{
		addrMsg(t, unix.AF_INET, 24, unix.IFA_F_PERMANENT, 2, ip15, func(m *nlMsg) {
			m.attr(unix.IFA_BROADCAST, []byte{10, 0, 2, 255}).attr(unix.IFA_LABEL, []byte("eth0\x00"))
		}),
		addrMsg(t, unix.AF_INET, 24, unix.IFA_F_SECONDARY, 2, alias, func(m *nlMsg) {
			ci := make([]byte, unix.SizeofIfaCacheinfo)
			ne.PutUint32(ci[0:], 100)
			ne.PutUint32(ci[4:], 200)
			m.attr(unix.IFA_LABEL, []byte("eth0:1\x00")).attr(unix.IFA_CACHEINFO, ci)
		}),
		addrMsg(t, unix.AF_INET, 8, unix.IFA_F_PERMANENT, 1, []byte{127, 0, 0, 1}, nil), // lo
	}
	routes = []syscall.NetlinkMessage{
		routeMsg(t, route{unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 2, nil, ip2}),
		routeMsg(t, route{unix.AF_INET, 24, unix.RT_TABLE_MAIN, unix.RTPROT_KERNEL, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 2, net0, nil}),
		routeMsg(t, route{unix.AF_INET, 32, unix.RT_TABLE_LOCAL, unix.RTPROT_KERNEL, unix.RT_SCOPE_HOST, unix.RTN_LOCAL, 2, ip15, nil}),
		routeMsg(t, route{unix.AF_INET, 16, unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 2, []byte{172, 16, 0, 0}, nil}),
		routeMsg(t, route{unix.AF_INET, 8, unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 5, []byte{11, 0, 0, 0}, []byte{9, 9, 9, 9}}),
		routeMsg(t, route{unix.AF_INET, 8, unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, unix.RTN_BLACKHOLE, 2, []byte{12, 0, 0, 0}, nil}),
	}
	return addrs, routes
}

func TestSaveInterfaceState(t *testing.T) {
	addrDump, routeDump := sampleDumps(t)
	addrs, err := parseAddrs(addrDump, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 2 || !bytes.Equal(addrs[0].local, ip15) || addrs[0].prefixLen != 24 || addrs[0].label != "eth0" ||
		addrs[0].valid != lifetimeForever || addrs[0].flags != 0 {
		t.Fatalf("addresses %+v", addrs)
	}
	if a := addrs[1]; !bytes.Equal(a.local, alias) || a.preferred != 100 || a.valid != 200 || a.flags != 0 || a.label != "eth0:1" {
		t.Fatalf("alias %+v", a)
	}
	routes, err := parseRoutes(routeDump, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The default route and the static link route; not the kernel's, the
	// local table's, another interface's or a blackhole.
	if len(routes) != 2 || !bytes.Equal(routes[0].gateway, ip2) || routes[0].dst != nil ||
		routes[1].gateway != nil || routes[1].dstLen != 16 || routes[1].protocol != unix.RTPROT_STATIC {
		t.Fatalf("routes %+v", routes)
	}

	short := []syscall.NetlinkMessage{{Header: syscall.NlMsghdr{Type: unix.RTM_NEWROUTE}, Data: make([]byte, 3)}}
	if _, err := parseRoutes(short, 2); err == nil {
		t.Error("short route message accepted")
	}
	short[0].Header.Type = unix.RTM_NEWADDR
	if _, err := parseAddrs(short, 2); err == nil {
		t.Error("short address message accepted")
	}
}

// planned decodes a restore plan into (type, body, attributes).
type planned struct {
	typ   uint16
	flags uint16
	body  []byte
	attrs map[uint16][]byte
}

func decodePlan(t *testing.T, plan []*nlMsg) []planned {
	var out []planned
	for _, m := range plan {
		msg := kernelMsg(t, m)
		a, err := attrs(msg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, planned{msg.Header.Type, msg.Header.Flags, msg.Data[:bodyLen[msg.Header.Type]], a})
	}
	return out
}

func TestRestorePlan(t *testing.T) {
	addrDump, routeDump := sampleDumps(t)
	addrs, _ := parseAddrs(addrDump, 2)
	routes, _ := parseRoutes(routeDump, 2)
	st := ifaceState{name: "eth0", up: true, addrs: addrs, routes: routes}

	p := decodePlan(t, restorePlan(st, 7, "eth1"))
	if len(p) != 5 {
		t.Fatalf("%d requests, want up, 2 addresses, 2 routes", len(p))
	}
	if p[0].typ != unix.RTM_NEWLINK || int32(ne.Uint32(p[0].body[4:])) != 7 || ne.Uint32(p[0].body[8:])&unix.IFF_UP == 0 || ne.Uint32(p[0].body[12:]) != unix.IFF_UP {
		t.Fatalf("first request %+v is not admin up of index 7", p[0])
	}
	for i, want := range [][]byte{ip15, alias} {
		r := p[1+i]
		if r.typ != unix.RTM_NEWADDR || int32(ne.Uint32(r.body[4:])) != 7 || r.body[1] != 24 || !bytes.Equal(r.attrs[unix.IFA_LOCAL], want) ||
			r.flags&(unix.NLM_F_CREATE|unix.NLM_F_EXCL) != unix.NLM_F_CREATE|unix.NLM_F_EXCL {
			t.Fatalf("address request %d: %+v", i, r)
		}
	}
	if got := cString(p[2].attrs[unix.IFA_LABEL]); got != "eth1:1" {
		t.Errorf("alias label %q on the renamed interface, want eth1:1", got)
	}
	if ci := p[2].attrs[unix.IFA_CACHEINFO]; len(ci) < 8 || ne.Uint32(ci) != 100 || ne.Uint32(ci[4:]) != 200 {
		t.Errorf("alias lifetimes %x", ci)
	}
	if p[1].attrs[unix.IFA_CACHEINFO] != nil {
		t.Error("a permanent address got lifetimes")
	}
	// The link route before the default route that may need it.
	if p[3].typ != unix.RTM_NEWROUTE || p[3].attrs[unix.RTA_GATEWAY] != nil || p[3].body[1] != 16 {
		t.Fatalf("first route %+v", p[3])
	}
	if r := p[4]; r.typ != unix.RTM_NEWROUTE || !bytes.Equal(r.attrs[unix.RTA_GATEWAY], ip2) || ne.Uint32(r.attrs[unix.RTA_OIF]) != 7 ||
		ne.Uint32(r.attrs[unix.RTA_TABLE]) != unix.RT_TABLE_MAIN || r.body[5] != unix.RTPROT_BOOT {
		t.Fatalf("default route %+v", r)
	}

	// Down: the addresses only (the kernel keeps no routes on a down link).
	st.up = false
	p = decodePlan(t, restorePlan(st, 7, "eth0"))
	if len(p) != 2 || p[0].typ != unix.RTM_NEWADDR || p[1].typ != unix.RTM_NEWADDR {
		t.Fatalf("plan for a down interface: %+v", p)
	}
}

func TestNetlinkError(t *testing.T) {
	ack := make([]byte, 20)
	if err := nlError(ack); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	errno := -int32(unix.EEXIST)
	ne.PutUint32(ack, uint32(errno))
	if err := nlError(ack); err != unix.EEXIST {
		t.Fatalf("error %v, want EEXIST", err)
	}
	if err := nlError(ack[:2]); err == nil {
		t.Fatal("short error accepted")
	}
}

// fakeSysfs lays out what the kernel shows for eth0 on virtio1 and lo.
func fakeSysfs(t *testing.T) sysfs {
	root := t.TempDir()
	mk := func(p string) string {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ln := func(target, link string) {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	drv := mk("bus/virtio/drivers/virtio_net")
	for _, f := range []string{"bind", "unbind"} {
		os.WriteFile(filepath.Join(drv, f), nil, 0o200)
	}
	mk("bus/virtio/devices/virtio1/net/eth0")
	ln("../../../bus/virtio/drivers/virtio_net", "bus/virtio/devices/virtio1/driver")
	mk("class/net/eth0")
	ln("../../../bus/virtio/devices/virtio1", "class/net/eth0/device")
	os.WriteFile(filepath.Join(root, "class/net/eth0/address"), []byte("52:54:00:12:34:56\n"), 0o644)
	mk("class/net/lo")
	return sysfs{root: root}
}

func TestSysfs(t *testing.T) {
	s := fakeSysfs(t)
	if dev, err := s.virtioDevice("eth0"); err != nil || dev != "virtio1" {
		t.Fatalf("eth0's device %q, %v", dev, err)
	}
	if dev, err := s.virtioDevice("lo"); err != nil || dev != "" {
		t.Fatalf("lo's device %q, %v", dev, err)
	}
	if name, err := s.netdev("virtio1"); err != nil || name != "eth0" {
		t.Fatalf("virtio1's interface %q, %v", name, err)
	}
	if _, err := s.netdev("virtio9"); err == nil {
		t.Fatal("interface of a missing device")
	}
	if mac, err := s.mac("eth0"); err != nil || mac != "52:54:00:12:34:56" {
		t.Fatalf("mac %q, %v", mac, err)
	}
	if err := s.rebind("virtio1"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"unbind", "bind"} {
		if b, _ := os.ReadFile(filepath.Join(s.root, "bus/virtio/drivers/virtio_net", f)); string(b) != "virtio1" {
			t.Errorf("%s got %q", f, b)
		}
	}
	os.Remove(filepath.Join(s.root, "bus/virtio/drivers/virtio_net/bind"))
	if err := s.rebind("virtio1"); err == nil {
		t.Error("rebind without a bind file succeeded")
	}
}

func TestRandPoolInfo(t *testing.T) {
	seed := bytes.Repeat([]byte{0xab}, reseedBytes)
	b := randPoolInfo(seed)
	if ne.Uint32(b) != 8*reseedBytes || ne.Uint32(b[4:]) != reseedBytes || !bytes.Equal(b[8:], seed) {
		t.Fatalf("rand_pool_info %x", b[:16])
	}
}

// Dumps from the host's own kernel: every message survives the datagrams
// that follow it (the receive buffer is reused).
func TestNetlinkDump(t *testing.T) {
	c, err := openNetlink(0)
	if err != nil {
		t.Skipf("no rtnetlink here: %v", err)
	}
	defer c.Close()
	links, err := c.dump(unix.RTM_GETLINK, ifInfo(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range links {
		l, err := parseLink(m)
		if err != nil {
			t.Fatal(err)
		}
		found = found || (l.name == "lo" && l.up())
	}
	if !found {
		t.Fatalf("no lo among %d links", len(links))
	}
	body := make([]byte, unix.SizeofRtMsg)
	body[0] = unix.AF_INET
	routes, err := c.dump(unix.RTM_GETROUTE, body)
	if err != nil || len(routes) == 0 {
		t.Fatalf("route dump: %d routes, %v", len(routes), err)
	}
	for i, m := range routes {
		if m.Header.Type != unix.RTM_NEWROUTE || m.Data[0] != unix.AF_INET {
			t.Fatalf("route %d of %d: type %d family %d", i, len(routes), m.Header.Type, m.Data[0])
		}
	}
}
