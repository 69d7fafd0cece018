package virtio

import "testing"

// flapDriver is a started NIC driver with a way to take pending config
// interrupts, as vm_interrupt does.
type flapDriver struct {
	*testDriver
	n *Net
}

func newFlapDriver(t *testing.T, features uint64) *flapDriver {
	n, _ := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(features, 16)
	return &flapDriver{d, n}
}

// takeConfigInterrupt reports whether a config change interrupt was
// pending, and acknowledges it.
func (d *flapDriver) takeConfigInterrupt() bool {
	s := d.reg(regInterruptStatus)
	d.setReg(regInterruptAck, s)
	return s&InterruptConfig != 0
}

func (d *flapDriver) linkStatus() uint64 { return d.m.Read(regConfig+netStatusOff, 2) }

// The driver sees down, and only after it read down does the link come
// back, with a second interrupt: the sequence virtnet_config_changed_work
// turns into carrier off, carrier on.
func TestNetFlapLinkSequence(t *testing.T) {
	// Config reads that overlap status end the flap; others do not.
	cases := []struct {
		name      string
		off       uint64
		size      int
		endsFlap  bool
		wantValue uint64 // what the read returns while down
	}{
		{"status le16", 6, 2, true, 0},
		{"status low byte", 6, 1, true, 0},
		{"status high byte", 7, 1, true, 0},
		{"mac tail and status", 4, 4, true, uint64(testMAC[4]) | uint64(testMAC[5])<<8},
		{"mac byte", 5, 1, false, uint64(testMAC[5])},
		{"mac head", 0, 4, false, uint64(testMAC[0]) | uint64(testMAC[1])<<8 | uint64(testMAC[2])<<16 | uint64(testMAC[3])<<24},
		{"max_virtqueue_pairs", 8, 2, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newFlapDriver(t, netTestFeatures)
			d.takeConfigInterrupt()
			gen := d.reg(regConfigGeneration)
			d.n.FlapLink()
			if !d.takeConfigInterrupt() {
				t.Fatal("no config interrupt for link down")
			}
			if d.reg(regConfigGeneration) == gen {
				t.Fatal("config generation unchanged by link down")
			}
			gen = d.reg(regConfigGeneration)
			if got := d.m.Read(regConfig+c.off, c.size); got != c.wantValue {
				t.Fatalf("read %d@%d while down = %#x, want %#x", c.size, c.off, got, c.wantValue)
			}
			if !c.endsFlap {
				if d.takeConfigInterrupt() || d.reg(regConfigGeneration) != gen {
					t.Fatal("a read not covering status ended the flap")
				}
				// The driver's own status read ends it.
				if d.linkStatus() != 0 {
					t.Fatal("link up before the driver read the status")
				}
			}
			if !d.takeConfigInterrupt() {
				t.Fatal("no config interrupt for link up after the driver read down")
			}
			if d.reg(regConfigGeneration) == gen {
				t.Fatal("config generation unchanged by link up")
			}
			gen = d.reg(regConfigGeneration)
			if d.linkStatus() != netStatusLinkUp {
				t.Fatal("link still down after the driver read the down status")
			}
			if d.takeConfigInterrupt() || d.reg(regConfigGeneration) != gen || d.linkStatus() != netStatusLinkUp {
				t.Fatal("config kept changing after the flap")
			}
		})
	}
}

func TestNetFlapDropsFramesWhileDown(t *testing.T) {
	n, be := newTestNet(t, 0)
	d := newTestDriver(t, n)
	d.start(netTestFeatures, 16)
	n.FlapLink()
	be.deliver(testFrame(60, 0))
	if n.Stats().RxDropped != 1 {
		t.Fatalf("frame accepted with the link flapped down: %+v", n.Stats())
	}
	d.m.Read(regConfig+netStatusOff, 2)
	be.deliver(testFrame(60, 0))
	if n.Stats().RxDropped != 1 {
		t.Fatalf("frame dropped after the flap: %+v", n.Stats())
	}
}

// A driver without VIRTIO_NET_F_STATUS assumes the link is up and would
// never read the status: no flap for it.
func TestNetFlapNeedsStatusFeature(t *testing.T) {
	d := newFlapDriver(t, netTestFeatures&^NetFStatus)
	d.takeConfigInterrupt()
	gen := d.reg(regConfigGeneration)
	d.n.FlapLink()
	if d.takeConfigInterrupt() || d.reg(regConfigGeneration) != gen || d.n.SaveState().Flap != NetFlapNone {
		t.Fatal("flap announced to a driver without the STATUS feature")
	}
}

// Asked for while no driver runs, the flap waits for DRIVER_OK, unless the
// driver starts from a reset: then it reads the MAC at probe anyway.
func TestNetFlapBeforeDriverOK(t *testing.T) {
	cases := []struct {
		name      string
		flapAfter func(d *testDriver)
		wantFlap  bool
	}{
		{"mid-probe", func(d *testDriver) { d.negotiate(netTestFeatures) }, true},
		{"before reset", func(*testDriver) {}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, _ := newTestNet(t, 0)
			d := newTestDriver(t, n)
			c.flapAfter(d)
			n.FlapLink()
			if d.reg(regInterruptStatus) != 0 {
				t.Fatal("interrupt before DRIVER_OK")
			}
			if n.SaveState().Flap != NetFlapOwed {
				t.Fatalf("flap state %d before DRIVER_OK, want owed", n.SaveState().Flap)
			}
			if c.wantFlap {
				for i := range 2 {
					d.setupQueue(i, 16)
				}
				d.setReg(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK)
			} else {
				d.start(netTestFeatures, 16)
			}
			fd := &flapDriver{d, n}
			if got := fd.takeConfigInterrupt(); got != c.wantFlap {
				t.Fatalf("config interrupt at DRIVER_OK: %v, want %v", got, c.wantFlap)
			}
			if down := fd.linkStatus() == 0; down != c.wantFlap {
				t.Fatalf("link down at DRIVER_OK: %v, want %v", down, c.wantFlap)
			}
			if fd.linkStatus() != netStatusLinkUp {
				t.Fatal("link not up after the driver read the status")
			}
		})
	}
}

// A snapshot taken mid-flap finishes the flap after restore: link down
// with its interrupt pending, up once the driver reads it.
func TestNetFlapSurvivesSnapshot(t *testing.T) {
	d := newFlapDriver(t, netTestFeatures)
	d.takeConfigInterrupt()
	d.n.FlapLink()
	d.m.Quiesce()
	st := d.m.SaveState()
	d.m.Resume()

	ram2 := newTestRAM(t, d.ram.Size())
	copy(ram2.Bytes(), d.ram.Bytes())
	n2, _ := newTestNet(t, 0)
	d2 := &flapDriver{newTestDriverRAM(t, n2, ram2), n2}
	d2.queues, d2.next = d.queues, d.next
	if err := d2.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if n2.SaveState().Flap != NetFlapDown {
		t.Fatalf("restored flap state %d, want down", n2.SaveState().Flap)
	}
	gen := d2.reg(regConfigGeneration)
	if !d2.takeConfigInterrupt() {
		t.Fatal("restored mid-flap without the pending config interrupt")
	}
	if d2.linkStatus() != 0 {
		t.Fatal("restored mid-flap with the link up")
	}
	if !d2.takeConfigInterrupt() || d2.reg(regConfigGeneration) == gen || d2.linkStatus() != netStatusLinkUp {
		t.Fatal("restored flap did not end when the driver read the status")
	}

	bad := n2.SaveState()
	bad.Flap = NetFlapDown + 1
	if err := n2.RestoreState(bad); err == nil {
		t.Fatal("unknown flap state accepted")
	}
}

// A flap owed by an inactive device in the snapshot is announced when the
// restored transport activates it.
func TestNetFlapOwedRestoresActive(t *testing.T) {
	d := newFlapDriver(t, netTestFeatures)
	d.takeConfigInterrupt()
	d.m.Quiesce()
	st := d.m.SaveState()
	ns := d.n.SaveState()
	ns.Flap = NetFlapOwed
	blob, err := encodeState(ns)
	if err != nil {
		t.Fatal(err)
	}
	st.Device = blob

	ram2 := newTestRAM(t, d.ram.Size())
	copy(ram2.Bytes(), d.ram.Bytes())
	n2, _ := newTestNet(t, 0)
	d2 := &flapDriver{newTestDriverRAM(t, n2, ram2), n2}
	if err := d2.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if !d2.takeConfigInterrupt() || d2.linkStatus() != 0 || !d2.takeConfigInterrupt() || d2.linkStatus() != netStatusLinkUp {
		t.Fatal("owed flap not announced on restore of a running driver")
	}
}
