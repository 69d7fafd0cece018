package vswitch

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// collector records the frames a NIC receives.
type collector struct{ ch chan []byte }

func newCollector() *collector { return &collector{ch: make(chan []byte, 64)} }

func (c *collector) deliver(f []byte) { c.ch <- append([]byte(nil), f...) }

// expect waits for a frame equal to want, skipping others.
func (c *collector) expect(t *testing.T, want []byte) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-c.ch:
			if bytes.Equal(f, want) {
				return
			}
		case <-deadline:
			t.Fatalf("frame % x never arrived", want[:14])
		}
	}
}

func hframe(dst, src byte, payload string) []byte {
	f := []byte{dst, dst, dst, dst, dst, dst, 2, 0, 0, 0, 0, src, 0x88, 0xb5}
	if dst == 0xff {
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	return append(f, payload...)
}

func hosts(r *Registry, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hubs[name] != nil
}

func hostRegistry(dir string) *Registry { return NewRegistry(Options{HostDir: dir}) }

func join(t *testing.T, r *Registry, name string) (Backend, *collector) {
	t.Helper()
	b, err := r.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	b.SetReceiver(c.deliver)
	return b, c
}

// sendUntil repeats a frame until it arrives: right after a takeover the
// sender's connection may still be the dead host's.
func sendUntil(t *testing.T, from Backend, to *collector, f []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		from.Send(f)
		select {
		case got := <-to.ch:
			if bytes.Equal(got, f) {
				return
			}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("frame % x never arrived", f[:14])
		}
	}
}

// TestHostSwitchAcrossRegistries joins NICs from two registries (as two
// processes would) and checks flooding, learning and isolation by name.
func TestHostSwitchAcrossRegistries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	r1, r2 := hostRegistry(dir), hostRegistry(dir)
	defer r1.Close()
	defer r2.Close()
	a, ca := join(t, r1, "lan")
	defer a.Close()
	b, cb := join(t, r2, "lan")
	defer b.Close()
	other, co := join(t, r2, "other")
	defer other.Close()

	bcast := hframe(0xff, 1, "hello from a")
	a.Send(bcast)
	cb.expect(t, bcast)
	// A unicast reply to a's source address, which the switch learned.
	uni := hframe(0, 2, "reply from b")
	copy(uni[:6], bcast[6:12])
	b.Send(uni)
	ca.expect(t, uni)
	select {
	case f := <-co.ch:
		t.Fatalf("switch %q got a frame of another switch: % x", "other", f)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestHostSwitchTakeover closes the hosting registry: the remaining NIC
// reconnects to a new host and a newcomer reaches it.
func TestHostSwitchTakeover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	r1, r2, r3 := hostRegistry(dir), hostRegistry(dir), hostRegistry(dir)
	defer r2.Close()
	defer r3.Close()
	a, _ := join(t, r1, "lan") // r1 hosts: it joined first
	b, cb := join(t, r2, "lan")
	defer b.Close()
	if !hosts(r1, "lan") || hosts(r2, "lan") {
		t.Fatalf("host: r1 %v, r2 %v; want r1", hosts(r1, "lan"), hosts(r2, "lan"))
	}
	a.Close()
	r1.Close()

	c, cc := join(t, r3, "lan")
	defer c.Close()
	sendUntil(t, c, cb, hframe(0xff, 3, "c to b"))
	sendUntil(t, b, cc, hframe(0xff, 2, "b to c"))
	if h2, h3 := hosts(r2, "lan"), hosts(r3, "lan"); h2 == h3 {
		t.Errorf("after the takeover r2 hosts %v, r3 hosts %v: want exactly one", h2, h3)
	}
}

func TestHostSwitchRejects(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	r := hostRegistry(dir)
	defer r.Close()
	for _, name := range []string{"", "a/b", "..", string(make([]byte, 65))} {
		if b, err := r.Join(name); err == nil {
			b.Close()
			t.Errorf("Join(%q) succeeded", name)
		}
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	if b, err := hostRegistry(open).Join("lan"); err == nil {
		b.Close()
		t.Error("Join in a world-writable directory succeeded")
	}
	// Oversized and runt frames are dropped, not sent.
	a, _ := join(t, r, "lan")
	defer a.Close()
	b, cb := join(t, r, "lan")
	defer b.Close()
	a.Send(make([]byte, maxFrame+1))
	a.Send(make([]byte, 10))
	ok := hframe(0xff, 1, "after")
	a.Send(ok)
	select {
	case f := <-cb.ch:
		if !bytes.Equal(f, ok) {
			t.Fatalf("got % x, want only the valid frame", f[:14])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("valid frame lost")
	}
}

func TestJoinWithoutHostDirIsInProcess(t *testing.T) {
	r := NewRegistry(Options{})
	b, err := r.Join("lan")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.(*Port); !ok {
		t.Fatalf("Join without HostDir returned %T, want *Port", b)
	}
}
