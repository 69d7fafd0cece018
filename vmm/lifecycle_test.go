package vmm

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLifecycleTransitions(t *testing.T) {
	m := newTestManager(t, Options{})
	idle := writeGuest(t, t.TempDir(), "idle", idleLoop)
	if _, err := m.Create(bareConfig("v", idle)); err != nil {
		t.Fatal(err)
	}
	type step struct {
		op        string
		wantKind  Kind // KindInternal = success
		wantState State
	}
	ops := map[string]func(string) (VMInfo, error){
		"start": m.Start, "stop": m.Stop, "pause": m.Pause, "resume": m.Resume, "reboot": m.Reboot,
	}
	ok := KindInternal
	steps := []step{
		{"pause", KindConflict, StateStopped},
		{"resume", KindConflict, StateStopped},
		{"stop", KindConflict, StateStopped},
		{"reboot", KindConflict, StateStopped},
		{"start", ok, StateRunning},
		{"start", KindConflict, StateRunning},
		{"resume", KindConflict, StateRunning},
		{"pause", ok, StatePaused},
		{"pause", KindConflict, StatePaused},
		{"start", KindConflict, StatePaused},
		{"resume", ok, StateRunning},
		{"reboot", ok, StateRunning},
		{"pause", ok, StatePaused},
		{"reboot", ok, StateRunning}, // a reset boots afresh, running
		{"pause", ok, StatePaused},
		{"stop", ok, StateStopped},
		{"start", ok, StateRunning},
		{"stop", ok, StateStopped},
	}
	for i, s := range steps {
		info, err := ops[s.op]("v")
		if s.wantKind == ok && err != nil {
			t.Fatalf("step %d %s: %v", i, s.op, err)
		}
		if s.wantKind != ok && (err == nil || KindOf(err) != s.wantKind) {
			t.Fatalf("step %d %s: err %v, want kind %v", i, s.op, err, s.wantKind)
		}
		if err == nil && info.State != s.wantState {
			t.Fatalf("step %d %s: state %s, want %s", i, s.op, info.State, s.wantState)
		}
		if got, _ := m.Get("v"); got.State != s.wantState {
			t.Fatalf("step %d %s: Get says %s, want %s (state half-changed?)", i, s.op, got.State, s.wantState)
		}
	}
	for op, f := range ops {
		if _, err := f("nope"); KindOf(err) != KindNotFound {
			t.Errorf("%s on unknown VM: %v", op, err)
		}
	}
}

func TestCreateAndDelete(t *testing.T) {
	m := newTestManager(t, Options{})
	dir := t.TempDir()
	idle := writeGuest(t, dir, "idle", idleLoop)
	cases := []struct {
		name string
		cfg  *Config
		kind Kind
		msg  string
	}{
		{"ok", bareConfig("a", idle), KindInternal, ""},
		{"duplicate", bareConfig("a", idle), KindConflict, `a VM named "a" already exists`},
		{"invalid", &Config{Name: "b", VCPUs: 40}, KindInvalid, "vcpus: 40"},
		{"missing kernel file", bareConfig("c", filepath.Join(dir, "missing.elf")), KindInvalid, "kernel:"},
		{"net without backend", &Config{Name: "d", Nets: []NetConfig{{}}}, KindInvalid, "no network backend"},
		{"nil", nil, KindInvalid, "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Create(c.cfg)
			if c.kind == KindInternal {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || KindOf(err) != c.kind || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v (kind %v), want kind %v with %q", err, KindOf(err), c.kind, c.msg)
			}
		})
	}
	if n := len(m.List()); n != 1 {
		t.Fatalf("%d VMs after one good create", n)
	}
	if _, err := m.Start("a"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("a", false); KindOf(err) != KindConflict {
		t.Fatalf("deleting a running VM: %v", err)
	}
	if err := m.Delete("a", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get("a"); KindOf(err) != KindNotFound {
		t.Fatalf("Get after delete: %v", err)
	}
	if err := m.Delete("a", false); KindOf(err) != KindNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func TestDefinitionsPersist(t *testing.T) {
	state := t.TempDir()
	idle := writeGuest(t, t.TempDir(), "idle", idleLoop)
	m := newTestManager(t, Options{StateDir: state})
	auto := bareConfig("auto", idle)
	auto.Autostart = true
	for _, c := range []*Config{bareConfig("plain", idle), auto} {
		if _, err := m.Create(c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Start("plain"); err != nil {
		t.Fatal(err)
	}
	m.Close()
	// No temp files are left behind by the atomic writes.
	files, _ := filepath.Glob(filepath.Join(state, "*"))
	if len(files) != 2 {
		t.Fatalf("state dir holds %v", files)
	}
	os.WriteFile(filepath.Join(state, "broken.json"), []byte("{not json"), 0o600)

	var logs bytes.Buffer
	m2 := newTestManager(t, Options{StateDir: state, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	want := map[string]State{"plain": StateStopped, "auto": StateRunning}
	got := m2.List()
	if len(got) != 2 {
		t.Fatalf("reloaded %v", got)
	}
	for _, in := range got {
		if in.State != want[in.Name] {
			t.Errorf("%s came back %s, want %s", in.Name, in.State, want[in.Name])
		}
		if in.Config.Kernel != idle || in.Config.Memory != "16M" {
			t.Errorf("%s config %+v", in.Name, in.Config)
		}
	}
	if !strings.Contains(logs.String(), "broken.json") {
		t.Errorf("corrupt definition not logged: %s", logs.String())
	}
	if err := m2.Delete("plain", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "plain.json")); !os.IsNotExist(err) {
		t.Fatalf("definition file survives delete: %v", err)
	}
}

func TestConsoleThroughManager(t *testing.T) {
	m := newTestManager(t, Options{})
	echoELF := writeGuest(t, t.TempDir(), "echo", echo)
	if _, err := m.Create(bareConfig("e", echoELF)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConsoleInput(context.Background(), "e", []byte("x")); KindOf(err) != KindConflict {
		t.Fatalf("typing on a stopped VM: %v", err)
	}
	if _, err := m.Start("e"); err != nil {
		t.Fatal(err)
	}
	pos := waitConsole(t, m, "e", 0, ">")
	long := strings.Repeat("0123456789", 20) // several UART FIFOs' worth
	if n, err := m.ConsoleInput(context.Background(), "e", []byte(long)); err != nil || n != len(long) {
		t.Fatalf("ConsoleInput = %d, %v", n, err)
	}
	waitConsole(t, m, "e", pos, long)
	if _, err := m.Pause("e"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConsoleInput(context.Background(), "e", []byte("x")); KindOf(err) != KindConflict {
		t.Fatalf("typing on a paused VM: %v", err)
	}
}

func TestGuestPoweroffStopsVM(t *testing.T) {
	m := newTestManager(t, Options{})
	off := writeGuest(t, t.TempDir(), "off", poweroff)
	if _, err := m.Create(bareConfig("p", off)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("p"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to power off", func() bool { in, _ := m.Get("p"); return in.State == StateStopped })
	in, _ := m.Get("p")
	if in.LastExit != "guest powered off" || in.Error != "" {
		t.Fatalf("info %+v", in)
	}
	st, _ := m.Stats("p")
	if st.InstructionsRetired == 0 || st.Boots != 1 {
		t.Fatalf("stats of the finished run: %+v", st)
	}
	evs, _ := m.events.After(0)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "created,started,stopped" {
		t.Fatalf("events %v", types)
	}
}

// TestPauseStopsGuestTime checks the clock policy: guest time does not
// advance while paused and continues from the same value on resume.
func TestPauseStopsGuestTime(t *testing.T) {
	m := newTestManager(t, Options{})
	busy := writeGuest(t, t.TempDir(), "busy", busyLoop)
	if _, err := m.Create(bareConfig("c", busy)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("c"); err != nil {
		t.Fatal(err)
	}
	v, _ := m.vm("c")
	clock := func() uint64 { v.mu.Lock(); defer v.mu.Unlock(); return v.run.machine.Clock().Now() }
	if _, err := m.Pause("c"); err != nil {
		t.Fatal(err)
	}
	frozen := clock()
	st1, _ := m.Stats("c")
	waitFor(t, "another event to pass", func() bool { return m.events.Last() >= 3 }) // created, started, paused
	st2, _ := m.Stats("c")
	if c := clock(); c != frozen {
		t.Fatalf("guest time moved while paused: %d -> %d", frozen, c)
	}
	if st1.InstructionsRetired != st2.InstructionsRetired {
		t.Fatalf("instructions retired while paused: %d -> %d", st1.InstructionsRetired, st2.InstructionsRetired)
	}
	if _, err := m.Resume("c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "guest time to move after resume", func() bool { return clock() > frozen })
	waitFor(t, "instructions after resume", func() bool {
		st, _ := m.Stats("c")
		return st.InstructionsRetired > st2.InstructionsRetired
	})
}

func TestConcurrentOperationsOnOneVM(t *testing.T) {
	m := newTestManager(t, Options{})
	idle := writeGuest(t, t.TempDir(), "idle", idleLoop)
	if _, err := m.Create(bareConfig("x", idle)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Start("x"); err == nil {
				mu.Lock()
				started++
				mu.Unlock()
			} else if KindOf(err) != KindConflict {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if started != 1 {
		t.Fatalf("%d concurrent starts succeeded, want exactly 1", started)
	}
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); m.Pause("x"); m.Resume("x") }()
		go func() { defer wg.Done(); m.Stats("x"); m.Get("x") }()
	}
	wg.Wait()
	if _, err := m.Stop("x"); err != nil {
		in, _ := m.Get("x")
		t.Fatalf("stop after the storm: %v (state %s)", err, in.State)
	}
}
