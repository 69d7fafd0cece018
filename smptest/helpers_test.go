package smptest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// slow reports whether POPEK_SLOW asks for the long runs.
func slow() bool { return os.Getenv("POPEK_SLOW") != "" }

// testContext ends shortly before the test binary's deadline, so a hung
// guest fails with its console log instead of killing the whole binary.
// It is hang protection only: no result depends on how fast things run.
func testContext(t *testing.T) context.Context {
	t.Helper()
	deadline := time.Now().Add(30 * time.Minute)
	if d, ok := t.Deadline(); ok {
		deadline = d.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

// bareTimeout bounds one bare-metal run, which takes well under a second
// when it works: a hung program fails its own subtest, not the rest.
const bareTimeout = 2 * time.Minute

// bareContext is testContext for one bare-metal run.
func bareContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(testContext(t), bareTimeout)
	t.Cleanup(cancel)
	return ctx
}

// skipLinux skips the tests that boot Linux where they would take too long.
func skipLinux(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots Linux (-short)")
	}
	if raceDetector {
		t.Skip("boots Linux: too slow under the race detector")
	}
}

// keepConsole saves a failed guest's whole console in the system's
// temporary directory (a Go crash dump in the guest runs to many pages)
// and logs its end.
func keepConsole(t *testing.T, log string) {
	t.Helper()
	f, err := os.CreateTemp("", "smptest-"+strings.ReplaceAll(t.Name(), "/", "-")+"-*.log")
	if err == nil {
		_, err = f.WriteString(log)
		f.Close()
	}
	if err != nil {
		t.Logf("saving the console: %v", err)
	} else {
		t.Logf("whole console in %s", f.Name())
	}
	t.Logf("console end:\n%s", tail(log, 6000))
}

// tail returns the last n bytes of s, for failure messages.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
