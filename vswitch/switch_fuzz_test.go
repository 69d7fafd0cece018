package vswitch

import (
	"bytes"
	"encoding/binary"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// fuzzMaxMACs is the fuzzed switches' address table bound: small, so that
// floods of invented source addresses overflow it.
const fuzzMaxMACs = 8

// fuzzMaxPackets bounds the packets of one input: fewer than any queue
// holds, so nothing is dropped and every frame can be accounted for.
const fuzzMaxPackets = 64

// fuzzPackets splits data into packets: a 3-byte little-endian length
// (capped a little past maxFrame) then that many bytes, zero-padded when
// data runs out, so runts and oversized packets are cheap to write.
func fuzzPackets(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 3 && len(out) < fuzzMaxPackets {
		n := min(int(data[0])|int(data[1])<<8|int(data[2])<<16, maxFrame+64)
		data = data[3:]
		p := make([]byte, n)
		data = data[copy(p, data):]
		out = append(out, p)
	}
	return out
}

// encodePackets is fuzzPackets' inverse, for seeds.
func encodePackets(packets ...[]byte) []byte {
	var out []byte
	for _, p := range packets {
		out = append(out, byte(len(p)), byte(len(p)>>8), byte(len(p)>>16))
		out = append(out, p...)
	}
	return out
}

func switchFuzzSeeds() [][]byte {
	var flood [][]byte
	for i := range 40 {
		flood = append(flood, hframe(byte(i), byte(i+1), "flood"))
	}
	return [][]byte{
		encodePackets(hframe(0xff, 1, "hello"), hframe(1, 2, "unicast"), hframe(2, 1, "back")),
		encodePackets(flood...),
		encodePackets([]byte{1, 2, 3}, make([]byte, ethMinFrame-1), make([]byte, ethMinFrame)),
		encodePackets(make([]byte, maxFrame), make([]byte, maxFrame+1), hframe(0xff, 3, "after")),
		encodePackets(append([]byte{1, 0, 0x5e, 0, 0, 1, 1, 0, 0x5e, 0, 0, 1}, 0x08, 0)), // multicast source
		encodePackets(make([]byte, 60)), // zero source
		{0xff, 0xff, 0xff},
	}
}

// FuzzSwitchFrame sends packets into a host-wide switch as another process
// on its socket would, and into an in-process switch as a guest NIC does:
// no panic, runts and oversized packets never delivered, everything
// delivered an intact copy of a packet sent, in order, and the address
// table never larger than its bound.
func FuzzSwitchFrame(f *testing.F) {
	for _, s := range switchFuzzSeeds() {
		f.Add(s)
	}
	r := NewRegistry(Options{HostDir: filepath.Join(f.TempDir(), "sw"), MaxMACs: fuzzMaxMACs})
	f.Cleanup(func() { r.Close() })
	rx, err := r.Join("lan")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rx.Close() })
	got := make(chan []byte, 4*fuzzMaxPackets)
	rx.SetReceiver(func(fr []byte) { got <- bytes.Clone(fr) })
	r.mu.Lock()
	hub := r.hubs["lan"]
	r.mu.Unlock()
	if hub == nil {
		f.Fatal("the registry does not host the switch it joined first")
	}
	local := New("local", Options{MaxMACs: fuzzMaxMACs})
	seq := uint64(0)

	f.Fuzz(func(t *testing.T, data []byte) {
		packets := fuzzPackets(data)
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Net: "unixpacket", Name: r.sockPath("lan")})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := awaitReady(c); err != nil {
			t.Fatal(err)
		}
		var deliverable [][]byte
		for _, p := range packets {
			if len(p) == 0 {
				continue // an empty packet is the end of a SEQPACKET stream
			}
			if _, err := c.Write(p); err != nil {
				t.Fatalf("write a %d-byte packet: %v", len(p), err)
			}
			if len(p) >= ethMinFrame && len(p) <= maxFrame {
				deliverable = append(deliverable, p)
			}
		}
		seq++
		marker := hframe(0xff, 0, "marker")
		marker = binary.LittleEndian.AppendUint64(marker, seq)
		if _, err := c.Write(marker); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second) // only for a hung switch
		for {
			var fr []byte
			select {
			case fr = <-got:
			case <-deadline:
				t.Fatalf("the marker after %d packets never arrived", len(packets))
			}
			if bytes.Equal(fr, marker) {
				break
			}
			if len(fr) < ethMinFrame || len(fr) > maxFrame {
				t.Fatalf("delivered a %d-byte frame", len(fr))
			}
			for len(deliverable) > 0 && !bytes.Equal(deliverable[0], fr) {
				deliverable = deliverable[1:]
			}
			if len(deliverable) == 0 {
				t.Fatalf("delivered a frame that was not sent (or out of order): % x", fr[:ethMinFrame])
			}
			deliverable = deliverable[1:]
		}
		checkTable(t, hub.sw)

		a, b := local.Connect(), local.Connect()
		defer a.Close()
		defer b.Close()
		for _, p := range packets {
			a.Send(p)
			b.Send(p)
		}
		checkTable(t, local)
	})
}

func checkTable(t *testing.T, s *Switch) {
	t.Helper()
	s.mu.Lock()
	n := len(s.table)
	s.mu.Unlock()
	if n > fuzzMaxMACs {
		t.Fatalf("switch %s learned %d addresses, more than its bound of %d", s.name, n, fuzzMaxMACs)
	}
}
