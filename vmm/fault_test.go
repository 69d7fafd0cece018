package vmm

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log sink safe for the VMs' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFaultStaysInsideItsVM makes one VM's emulation panic (on its hart
// goroutine, as a bug in an instruction or device would) and checks that
// it alone stops, in StateError with a log line, while the others run on.
func TestFaultStaysInsideItsVM(t *testing.T) {
	var logs syncBuffer
	m := newTestManager(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	busy := writeGuest(t, t.TempDir(), "busy", busyLoop)
	names := []string{"f0", "f1", "f2"}
	for _, n := range names {
		if _, err := m.Create(bareConfig(n, busy)); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Start(n); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]uint64{}
	for _, n := range names {
		st, _ := m.Stats(n)
		before[n] = st.InstructionsRetired
	}
	if err := m.injectFault("f1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "f1 to fail", func() bool { in, _ := m.Get("f1"); return in.State == StateError })
	in, _ := m.Get("f1")
	if !strings.Contains(in.Error, "injected fault") {
		t.Fatalf("f1 error %q", in.Error)
	}
	if l := logs.String(); !strings.Contains(l, `msg="vm failed" vm=f1`) || !strings.Contains(l, "injected fault") {
		t.Fatalf("no log line for the failure:\n%s", l)
	}
	for _, n := range []string{"f0", "f2"} {
		waitFor(t, n+" to keep running", func() bool {
			st, _ := m.Stats(n)
			return st.State == StateRunning && st.InstructionsRetired > before[n]
		})
	}
	// The failed VM can be started again: a fault does not poison it.
	if _, err := m.Start("f1"); err != nil {
		t.Fatal(err)
	}
	if in, _ := m.Get("f1"); in.State != StateRunning || in.Error != "" {
		t.Fatalf("restarted f1: %+v", in)
	}
	evs, _ := m.events.After(0)
	failed := 0
	for _, e := range evs {
		if e.Type == EventFailed {
			failed++
			if e.VM != "f1" || e.State != StateError {
				t.Fatalf("failure event %+v", e)
			}
		}
	}
	if failed != 1 {
		t.Fatalf("%d failure events", failed)
	}
	fmt.Fprint(&logs, "") // keep logs referenced for -v runs
}
