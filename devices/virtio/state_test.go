package virtio

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"reflect"
	"testing"
)

// roundTrip passes a state through JSON and gob, as snapshots may.
func roundTrip(t *testing.T, s MMIOState) MMIOState {
	t.Helper()
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON MMIOState
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatal(err)
	}
	var g bytes.Buffer
	if err := gob.NewEncoder(&g).Encode(fromJSON); err != nil {
		t.Fatal(err)
	}
	var fromGob MMIOState
	if err := gob.NewDecoder(&g).Decode(&fromGob); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromGob, s) {
		t.Fatalf("state changed in transit:\n%+v\n%+v", s, fromGob)
	}
	return fromGob
}

func TestSaveRestoreContinuesQueues(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1|FeatureEventIdx|FeatureIndirectDesc, 16)
	for range 3 {
		d.call(0, false, in(8))
	}
	d.m.Quiesce()
	st := roundTrip(t, d.m.SaveState())
	if st.Queues[0].UsedIdx != 3 || st.Queues[0].LastAvail != 3 || !st.Activated {
		t.Fatalf("saved queue state %+v", st.Queues[0])
	}

	// A second machine: copy RAM, restore, carry on with the same driver.
	ram2 := newTestRAM(t, d.ram.Size())
	copy(ram2.Bytes(), d.ram.Bytes())
	d2 := newTestDriverRAM(t, NewRNG(), ram2)
	if err := d2.m.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if got := d2.m.SaveState(); !reflect.DeepEqual(got, st) {
		t.Fatalf("restore not exact:\n%+v\n%+v", st, got)
	}
	if d2.irq.level.Load() != (st.InterruptStatus != 0) {
		t.Fatal("interrupt line not restored")
	}
	d2.queues, d2.next = d.queues, d.next
	_, n := d2.call(0, true, in(24))
	if n != 24 || d2.usedIdx(0) != 4 {
		t.Fatalf("after restore: len %d used idx %d", n, d2.usedIdx(0))
	}
}

func TestRestoreRejectsMismatch(t *testing.T) {
	d := newTestDriver(t, NewRNG())
	d.start(FeatureVersion1, 16)
	good := d.m.SaveState()
	cases := []struct {
		name  string
		dev   Device
		patch func(*MMIOState)
	}{
		{"other device type", NewConsole(&bytes.Buffer{}), func(*MMIOState) {}},
		{"queue count", NewRNG(), func(s *MMIOState) { s.Queues = append(s.Queues, QueueState{}) }},
		{"queue outside RAM", NewRNG(), func(s *MMIOState) { s.Queues[0].Desc = 0x1000 }},
		{"unoffered features", NewRNG(), func(s *MMIOState) { s.DriverFeatures |= 1 }},
		{"active without FEATURES_OK", NewRNG(), func(s *MMIOState) { s.Status = StatusDriverOK; s.Queues = nil }},
		{"no device part", NewRNG(), func(s *MMIOState) { s.Device = nil }},
		{"garbage device part", NewRNG(), func(s *MMIOState) { s.Device = []byte("{") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good
			s.Queues = append([]QueueState(nil), good.Queues...)
			c.patch(&s)
			d2 := newTestDriverRAM(t, c.dev, d.ram)
			before := d2.m.SaveState()
			if err := d2.m.RestoreState(s); err == nil {
				t.Fatal("mismatched state accepted")
			}
			if after := d2.m.SaveState(); !reflect.DeepEqual(before, after) {
				t.Fatal("failed restore changed the transport")
			}
		})
	}
}
