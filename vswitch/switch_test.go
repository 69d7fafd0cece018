package vswitch

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

var broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func addr(last byte) [6]byte { return [6]byte{0x52, 0x54, 0, 0, 0, last} }

// frame builds an Ethernet frame whose payload byte tags it.
func frame(dst, src [6]byte, tag byte) []byte {
	f := make([]byte, 60)
	copy(f[0:], dst[:])
	copy(f[6:], src[:])
	f[12], f[13], f[14] = 0x08, 0x00, tag
	return f
}

// nic is a test receiver on one port.
type nic struct {
	t    *testing.T
	port *Port
	mu   sync.Mutex
	got  [][]byte
	more chan struct{}
}

func plug(t *testing.T, s *Switch) *nic {
	n := &nic{t: t, port: s.Connect(), more: make(chan struct{}, 1)}
	n.port.SetReceiver(func(f []byte) {
		n.mu.Lock()
		n.got = append(n.got, bytes.Clone(f))
		n.mu.Unlock()
		select { // a full channel already holds a wake-up
		case n.more <- struct{}{}:
		default:
		}
	})
	t.Cleanup(func() { n.port.Close() })
	return n
}

// tags waits until the port has received a frame tagged until (a marker
// flooded after the frames under test: queues are FIFO, so everything sent
// before it has arrived) and returns the tags received before it.
func (n *nic) tags(until byte) []byte {
	n.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		n.mu.Lock()
		for i, f := range n.got {
			if f[14] == until {
				var tags []byte
				for _, g := range n.got[:i] {
					tags = append(tags, g[14])
				}
				n.got = n.got[i+1:]
				n.mu.Unlock()
				return tags
			}
		}
		n.mu.Unlock()
		select {
		case <-n.more:
		case <-deadline:
			n.t.Fatalf("marker %d never arrived", until)
		}
	}
}

const marker = 0xee

// sendMarker floods a marker frame from port m, which has no learned address.
func sendMarker(m *nic) { m.port.Send(frame(broadcast, [6]byte{}, marker)) }

func TestLearningAndFlooding(t *testing.T) {
	s := New("lan", Options{})
	a, b, c, m := plug(t, s), plug(t, s), plug(t, s), plug(t, s)
	steps := []struct {
		name                string
		from                *nic
		dst, src            [6]byte
		wantA, wantB, wantC []byte
	}{
		{"unknown unicast floods", a, addr(2), addr(1), nil, []byte{1}, []byte{1}},
		{"reply to a learned address goes to its port only", b, addr(1), addr(2), []byte{2}, nil, nil},
		{"both learned", a, addr(2), addr(1), nil, []byte{3}, nil},
		{"broadcast floods all but the sender", c, broadcast, addr(3), []byte{4}, []byte{4}, nil},
		{"multicast floods", a, [6]byte{0x01, 0, 0x5e, 0, 0, 1}, addr(1), nil, []byte{5}, []byte{5}},
		{"frame for the sender's own port is dropped", a, addr(1), addr(9), nil, nil, nil},
	}
	for i, st := range steps {
		st.from.port.Send(frame(st.dst, st.src, byte(i+1)))
		sendMarker(m)
		for _, chk := range []struct {
			n    *nic
			want []byte
		}{{a, st.wantA}, {b, st.wantB}, {c, st.wantC}} {
			if got := chk.n.tags(marker); !bytes.Equal(got, chk.want) {
				t.Fatalf("%s: port got %v, want %v", st.name, got, chk.want)
			}
		}
	}
	if p, ok := s.Lookup(addr(1)); !ok || p != a.port {
		t.Fatal("addr 1 not learned on port a")
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestAgeing(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	s := New("lan", Options{Ageing: time.Minute, Now: clk.Now})
	a, b, c, m := plug(t, s), plug(t, s), plug(t, s), plug(t, s)
	b.port.Send(frame(broadcast, addr(2), 1)) // b learned
	a.port.Send(frame(addr(2), addr(1), 2))
	sendMarker(m)
	if got := c.tags(marker); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("fresh entry: c got %v", got)
	}
	if got := b.tags(marker); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("fresh entry: b got %v", got)
	}

	clk.advance(time.Minute)
	if _, ok := s.Lookup(addr(2)); ok {
		t.Fatal("aged entry still found")
	}
	a.port.Send(frame(addr(2), addr(1), 3))
	sendMarker(m)
	if got := c.tags(marker); !bytes.Equal(got, []byte{3}) {
		t.Fatalf("aged entry: c got %v, want flood", got)
	}
	if got := b.tags(marker); !bytes.Equal(got, []byte{3}) {
		t.Fatalf("aged entry: b got %v", got)
	}
}

func TestMACTableBounded(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	s := New("lan", Options{MaxMACs: 2, Ageing: time.Minute, Now: clk.Now})
	a := plug(t, s)
	for i := range 5 {
		a.port.Send(frame(broadcast, addr(byte(10+i)), byte(i)))
	}
	s.mu.Lock()
	n := len(s.table)
	s.mu.Unlock()
	if n != 2 {
		t.Fatalf("table has %d entries, limit 2", n)
	}
	clk.advance(time.Minute)
	a.port.Send(frame(broadcast, addr(20), 9))
	if _, ok := s.Lookup(addr(20)); !ok {
		t.Fatal("new address not learned after old ones aged")
	}
}

func TestSwitchesAreIsolated(t *testing.T) {
	r := NewRegistry(Options{})
	p1, _ := r.Connect("red")
	p2, _ := r.Connect("red")
	p3, _ := r.Connect("blue")
	got := make(chan string, 10)
	for _, c := range []struct {
		p    *Port
		name string
	}{{p1, "red1"}, {p2, "red2"}, {p3, "blue"}} {
		name := c.name
		c.p.SetReceiver(func([]byte) { got <- name })
		defer c.p.Close()
	}
	p1.Send(frame(broadcast, addr(1), 1))
	p3.Send(frame(broadcast, addr(3), 2)) // nobody else on blue
	p2.Send(frame(broadcast, addr(2), 3))
	seen := map[string]int{}
	for range 2 {
		seen[<-got]++
	}
	if seen["red1"] != 1 || seen["red2"] != 1 {
		t.Fatalf("deliveries %v", seen)
	}
	if s, _ := r.Switch("blue"); s.Ports() != 1 {
		t.Fatal("blue switch ports")
	}
	if p3.Stats().Received != 0 {
		t.Fatal("blue port received red traffic")
	}
	if _, err := r.Connect(""); err == nil {
		t.Fatal("empty name accepted")
	}
}

func TestSlowPortDropsWithoutBlocking(t *testing.T) {
	s := New("lan", Options{QueueLen: 4})
	fast := s.Connect()
	slow := s.Connect()
	release := make(chan struct{})
	inside := make(chan struct{}, 1)
	slow.SetReceiver(func([]byte) {
		select {
		case inside <- struct{}{}:
		default:
		}
		<-release
	})
	fast.SetReceiver(func([]byte) {})
	defer fast.Close()
	fast.Send(frame(broadcast, addr(1), 0))
	<-inside // the receiver now holds one frame and blocks
	for i := range 4 + 5 {
		fast.Send(frame(broadcast, addr(1), byte(i)))
	}
	if st := slow.Stats(); st.Dropped != 5 {
		t.Fatalf("slow port dropped %d, want 5", st.Dropped)
	}
	close(release)
	slow.Close()
}

func TestClosedPortForgotten(t *testing.T) {
	s := New("lan", Options{})
	a, b, m := plug(t, s), plug(t, s), plug(t, s)
	b.port.Send(frame(broadcast, addr(2), 1))
	b.port.Close()
	if _, ok := s.Lookup(addr(2)); ok || s.Ports() != 2 {
		t.Fatal("closed port still known")
	}
	b.port.Send(frame(broadcast, addr(2), 2)) // after close: ignored
	sendMarker(m)
	if got := a.tags(marker); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("frames from a closed port arrived: %v", got)
	}
	if err := b.port.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRuntFramesIgnored(t *testing.T) {
	s := New("lan", Options{})
	a, b, m := plug(t, s), plug(t, s), plug(t, s)
	a.port.Send([]byte{1, 2, 3})
	sendMarker(m)
	if got := b.tags(marker); len(got) != 0 || a.port.Stats().Sent != 0 {
		t.Fatalf("runt delivered: %v, stats %+v", got, a.port.Stats())
	}
}
