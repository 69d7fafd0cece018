package virtio

import (
	"bytes"
	"testing"
)

// FuzzVsockPacket feeds arbitrary guest packets to the device: headers
// must round-trip, and no packet may panic, grow the owed resets past
// their bound, or open connections without a REQUEST.
func FuzzVsockPacket(f *testing.F) {
	for _, h := range []vsockHdr{
		pkt(vsockOpRequest, 1, 2),
		pkt(vsockOpRW, 1, 2),
		pkt(vsockOpShutdown, 1, 2),
		{SrcCID: testCID, DstCID: 9, Type: 2, Op: 99},
	} {
		b := make([]byte, vsockHdrLen)
		h.encode(b)
		f.Add(b, []byte("payload"))
	}
	v, _ := newVsockDeviceF(f)
	f.Fuzz(func(t *testing.T, hdr, payload []byte) {
		h, ok := parseVsockHdr(hdr)
		if !ok {
			if len(hdr) >= vsockHdrLen {
				t.Fatal("full header refused")
			}
			return
		}
		var back [vsockHdrLen]byte
		h.encode(back[:])
		if !bytes.Equal(back[:], hdr[:vsockHdrLen]) {
			t.Fatalf("header %x re-encodes as %x", hdr[:vsockHdrLen], back)
		}
		if len(payload) > vsockMaxPayload {
			payload = payload[:vsockMaxPayload]
		}
		v.mu.Lock()
		before := len(v.conns)
		v.handle(&h, payload)
		after := len(v.conns)
		if len(v.rsts) > vsockMaxRsts {
			t.Fatalf("%d resets owed", len(v.rsts))
		}
		for len(v.rsts) > 0 || len(v.ready) > 0 {
			if v.nextPacket(4096) == nil {
				break
			}
		}
		v.mu.Unlock()
		if after > before && (h.Op != vsockOpRequest || h.SrcCID != testCID) {
			t.Fatalf("packet %+v opened a connection", h)
		}
	})
}

func newVsockDeviceF(f *testing.F) (*Vsock, string) {
	uds := f.TempDir() + "/v.sock"
	v, err := NewVsock(testCID, uds)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { v.Close() })
	return v, uds
}
