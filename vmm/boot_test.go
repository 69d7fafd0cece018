package vmm

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/popek-vm/popek/images"
)

// bootLinuxVMs boots n VMs of the embedded default guest concurrently
// through the manager, runs `echo hello-N` on each console and stops them.
func bootLinuxVMs(t *testing.T, n int) {
	m := newTestManager(t, Options{})
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("linux%d", i)
		if _, err := m.Create(&Config{Name: name, Memory: "64M"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("linux%d", i)
			if _, err := m.Start(name); err != nil {
				t.Error(err)
				return
			}
			pos, err := waitConsoleOrPanic(m, name, 0, images.Prompt)
			if err != nil {
				t.Error(err)
				return
			}
			word := fmt.Sprintf("hello-%d", i)
			if _, err := m.ConsoleInput(t.Context(), name, []byte("echo "+word+"\n")); err != nil {
				t.Error(err)
				return
			}
			// The shell echoes the command line, then prints the word on a
			// line of its own.
			if _, err := waitConsoleOrPanic(m, name, pos, "\n"+word); err != nil {
				t.Error(err)
				return
			}
			if _, err := m.Stop(name); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, in := range m.List() {
		if in.State != StateStopped {
			t.Errorf("%s ended %s (%s)", in.Name, in.State, in.Error)
		}
	}
}

// waitConsoleOrPanic is waitConsole that gives up at once when the guest
// kernel panics or the VM stops, instead of waiting for the deadline.
func waitConsoleOrPanic(m *Manager, name string, pos uint64, want string) (uint64, error) {
	cs, err := m.Console(name)
	if err != nil {
		return 0, err
	}
	var seen []byte
	buf := make([]byte, 4096)
	ctx, cancel := contextWithMinutes(3)
	defer cancel()
	for {
		n, next, _, err := cs.ReadAt(ctx, buf, pos)
		if err != nil {
			in, _ := m.Get(name)
			return 0, fmt.Errorf("%s: no %q on the console (state %s %s): %v; output ends:\n%s", name, want, in.State, in.Error, err, tail(seen))
		}
		seen = append(seen, buf[:n]...)
		pos = next
		s := string(seen)
		if i := strings.Index(s, want); i >= 0 {
			return pos - uint64(len(s)-i-len(want)), nil
		}
		if strings.Contains(s, "Kernel panic") {
			return 0, fmt.Errorf("%s: the guest kernel panicked; output ends:\n%s", name, tail(seen))
		}
	}
}

// TestBootLinuxVMs is the small variant: three guests at once (about 10 s
// on two busy host cores, over a minute with -race).
func TestBootLinuxVMs(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux three times")
	}
	bootLinuxVMs(t, 3)
}

// TestBootTenLinuxVMs boots ten guests at once (about 30 s on two busy
// host cores); skipped with -short unless POPEK_SLOW=1.
func TestBootTenLinuxVMs(t *testing.T) {
	if testing.Short() && os.Getenv("POPEK_SLOW") == "" {
		t.Skip("boots Linux ten times: skipped with -short (POPEK_SLOW=1 runs it)")
	}
	bootLinuxVMs(t, 10)
}
