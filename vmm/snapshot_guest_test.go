package vmm

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/vswitch"
)

// linuxShell is a booted default guest in a manager, driven at its prompt.
type linuxShell struct {
	t    *testing.T
	m    *Manager
	name string
	pos  uint64
}

// run types a command line and waits for want in the output after it.
func (s *linuxShell) run(cmd, want string) {
	s.t.Helper()
	cs, err := s.m.Console(s.name)
	if err != nil {
		s.t.Fatal(err)
	}
	_, end := cs.Offsets()
	if _, err := s.m.ConsoleInput(s.t.Context(), s.name, []byte(cmd+"\n")); err != nil {
		s.t.Fatal(err)
	}
	pos, err := waitConsoleOrPanic(s.m, s.name, end, want)
	if err != nil {
		s.t.Fatal(err)
	}
	s.pos = pos
}

// bootShell defines and starts cfg (a Linux guest) in m and returns its
// shell once the prompt is up.
func bootShell(t *testing.T, m *Manager, cfg *Config) *linuxShell {
	t.Helper()
	if _, err := m.Create(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(cfg.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := waitConsoleOrPanic(m, cfg.Name, 0, images.Prompt); err != nil {
		t.Fatal(err)
	}
	return &linuxShell{t: t, m: m, name: cfg.Name}
}

// TestSnapshotLinuxGuest boots the default guest once and then: a shell
// variable and a file in /tmp come back after a revert; an incremental
// child survives the deletion of its parent and reverts; three VMs
// cloned concurrently from a template of it answer on their consoles
// with distinct MACs.
func TestSnapshotLinuxGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	m := newTestManager(t, Options{Backends: NewBackends(vswitch.NewRegistry(vswitch.Options{}))})
	sh := bootShell(t, m, &Config{Name: "lx", Memory: "64M", Nets: []NetConfig{{Mode: "user"}}})
	// The shell echoes the typed line, so each wanted word only appears
	// once the command expanded it.
	sh.run("V=one; echo one > /tmp/f; echo ok-$V", "ok-one")

	t.Run("revert", func(t *testing.T) {
		s1, err := m.CreateSnapshot("lx", SnapshotRequest{Name: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("snapshot: guest paused %.1f ms, %d MiB stored, %d MiB on disk", s1.PausedSeconds*1000, s1.MemoryBytes>>20, s1.SizeBytes>>20)
		sh.run("V=two; echo two > /tmp/f; echo now-$V-$(cat /tmp/f)", "now-two-two")
		if _, err := m.RevertSnapshot("lx", "s1"); err != nil {
			t.Fatal(err)
		}
		sh.run("echo back-$V-$(cat /tmp/f)", "back-one-one")
	})

	t.Run("history", func(t *testing.T) {
		sh.run("V=three; echo three > /tmp/f; echo set-$V", "set-three")
		s2, err := m.CreateSnapshot("lx", SnapshotRequest{Name: "s2", Incremental: true})
		if err != nil {
			t.Fatal(err)
		}
		if s2.Parent != "s1" {
			t.Fatalf("s2's parent %q, want s1 (reverted to last)", s2.Parent)
		}
		if err := m.DeleteSnapshot("lx", "s1"); err != nil {
			t.Fatal(err)
		}
		list, err := m.ListSnapshots("lx")
		if err != nil || len(list) != 1 || list[0].Name != "s2" || list[0].Incremental {
			t.Fatalf("after rm s1: %+v %v", list, err)
		}
		sh.run("V=four; echo four > /tmp/f; echo set-$V", "set-four")
		if _, err := m.RevertSnapshot("lx", "s2"); err != nil {
			t.Fatal(err)
		}
		sh.run("echo got-$V-$(cat /tmp/f)", "got-three-three")
	})

	t.Run("template", func(t *testing.T) {
		if _, err := m.CreateTemplate(TemplateRequest{Name: "lt", VM: "lx"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("clone%d", i)
				if _, err := m.Create(&Config{Name: name, Template: "lt"}); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Start(name); err != nil {
					t.Error(err)
					return
				}
				word := fmt.Sprintf("clone-%d-", i)
				if _, err := m.ConsoleInput(t.Context(), name, []byte("echo "+word+"$V\n")); err != nil {
					t.Error(err)
					return
				}
				if _, err := waitConsoleOrPanic(m, name, 0, word+"three"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		seen := map[string]string{deviceMAC(t, m, "lx", 0): "lx"}
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("clone%d", i)
			in, _ := m.Get(name)
			mac := in.Config.Nets[0].MAC
			if dev := deviceMAC(t, m, name, 0); dev != mac {
				t.Errorf("%s: config MAC %s, device %s", name, mac, dev)
			}
			if other, dup := seen[mac]; dup {
				t.Errorf("%s and %s share MAC %s", name, other, mac)
			}
			seen[mac] = name
		}
		if err := m.DeleteTemplate("lt"); err == nil || !strings.Contains(err.Error(), "clone0, clone1, clone2") {
			t.Errorf("rm of a template in use: %v", err)
		}
	})
}
