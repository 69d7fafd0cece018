package virtio

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/popek-vm/popek/netstack"
	"github.com/popek-vm/popek/vswitch"
)

// These tests drive NICs through the virtqueues against the real backends.

// nicDriver is a started NIC with receive buffers posted.
type nicDriver struct {
	d  *testDriver
	rx map[uint16]req
}

func startNIC(t *testing.T, mac net.HardwareAddr, be NetBackend) *nicDriver {
	t.Helper()
	n, err := NewNet(NetConfig{MAC: mac, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	nd := &nicDriver{d: newTestDriver(t, n), rx: map[uint16]req{}}
	nd.d.start(netTestFeatures|NetFMrgRxbuf, 32)
	for range 8 {
		nd.post()
	}
	return nd
}

func (nd *nicDriver) post() {
	r := nd.d.submit(netRxQueue, false, in(2048))
	nd.rx[r.head] = r
	nd.d.kick(netRxQueue)
}

func (nd *nicDriver) send(frame []byte) {
	nd.d.call(netTxQueue, false, out(make([]byte, netHdrLen)), out(frame))
}

// recv returns the next frame for the guest (one buffer each: 2 KiB holds
// any 1500-byte-MTU frame).
func (nd *nicDriver) recv() []byte {
	nd.d.t.Helper()
	u := nd.d.waitUsed(netRxQueue, 1)[0]
	r := nd.rx[uint16(u[0])]
	delete(nd.rx, uint16(u[0]))
	b := nd.d.written(r, 0)[:u[1]]
	nd.post()
	if binary.LittleEndian.Uint16(b[10:]) != 1 {
		nd.d.t.Fatalf("num_buffers %d", binary.LittleEndian.Uint16(b[10:]))
	}
	return b[netHdrLen:]
}

func ethFrame(dst, src net.HardwareAddr, tag byte) []byte {
	f := make([]byte, 60)
	copy(f, dst)
	copy(f[6:], src)
	f[12], f[13], f[14] = 0x88, 0xb5, tag // local experimental EtherType
	return f
}

func TestNetOverSwitch(t *testing.T) {
	sw := vswitch.New("lan", vswitch.Options{})
	macA, macB := DeriveMAC("a"), DeriveMAC("b")
	a := startNIC(t, macA, sw.Connect())
	b := startNIC(t, macB, sw.Connect())
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

	a.send(ethFrame(bcast, macA, 1))
	if got := b.recv(); !bytes.Equal(got, ethFrame(bcast, macA, 1)) {
		t.Fatalf("B got %x", got)
	}
	b.send(ethFrame(macA, macB, 2)) // A is learned: unicast
	if got := a.recv(); !bytes.Equal(got, ethFrame(macA, macB, 2)) {
		t.Fatalf("A got %x", got)
	}
}

// udpBroadcast builds a broadcast Ethernet/IPv4/UDP frame from src, UDP
// checksum 0 (none).
func udpBroadcast(src net.HardwareAddr, sport, dport uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], src)
	f[12], f[13] = 0x08, 0x00
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[16:], []byte{255, 255, 255, 255})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	u := f[34:42]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	copy(f[42:], payload)
	return f
}

// A DHCP exchange through the virtqueues and user-mode networking.
func TestNetUserNetworkingDHCP(t *testing.T) {
	mac := DeriveMAC("guest")
	stack, err := netstack.New(netstack.Config{MAC: mac})
	if err != nil {
		t.Fatal(err)
	}
	nic := startNIC(t, mac, stack)
	disc, err := dhcpv4.NewDiscovery(mac)
	if err != nil {
		t.Fatal(err)
	}
	nic.send(udpBroadcast(mac, dhcpv4.ClientPort, dhcpv4.ServerPort, disc.ToBytes()))
	for range 20 {
		f := nic.recv()
		if len(f) < 42 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17 || binary.BigEndian.Uint16(f[36:]) != dhcpv4.ClientPort {
			continue // ARP or the like
		}
		offer, err := dhcpv4.FromBytes(f[42:])
		if err != nil {
			t.Fatal(err)
		}
		if offer.MessageType() != dhcpv4.MessageTypeOffer || !offer.YourIPAddr.Equal(net.ParseIP(netstack.GuestIP)) {
			t.Fatalf("offer %s", offer.Summary())
		}
		return
	}
	t.Fatal("no DHCP offer")
}
