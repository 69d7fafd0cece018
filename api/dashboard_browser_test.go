package api

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDashboardInChromium renders the dashboard in headless Chromium
// against a daemon with a running bare-metal VM and checks the DOM the
// scripts built: the VM is listed with its state, its console pane shows
// the guest's output (over the WebSocket), and the event log has its
// start. Skipped where chromium is not installed (it is not in test.sh:
// it is large); POPEK_SCREENSHOT=FILE also saves a PNG of the page.
func TestDashboardInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	f := newFixture(t)
	srv := httptest.NewServer(NewServer(f.mgr, nil))
	defer srv.Close()
	const vm = "browser-test-vm"
	f.do(t, call{"POST", "/v1/vms", f.vmDoc(vm, f.echo), 201, ""})
	f.do(t, call{"POST", "/v1/vms/" + vm + "/start", "", 200, ""})
	f.eventually(t, call{"GET", "/v1/vms/" + vm + "/console?scrollback=1&follow=0", "", 200, ">"})
	f.do(t, call{"POST", "/v1/vms/" + vm + "/console/input", "typed-before-load", 200, ""})
	f.eventually(t, call{"GET", "/v1/vms/" + vm + "/console?scrollback=1&follow=0", "", 200, ">typed-before-load"})

	url := srv.URL + "/#vm=" + vm
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--user-data-dir=" + chromiumProfile(t), "--window-size=1280,800",
			// Long enough for the first polls, the WebSocket and a frame;
			// the dump is taken when it ends, not at a deadline of ours.
			"--virtual-time-budget=5000"}
		out, err := exec.CommandContext(ctx, chromium, append(append(base, args...), url)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return string(out)
	}
	dom := run("--dump-dom")
	for _, want := range []string{
		`<td>` + vm + `</td>`,                        // the VM list
		`<span class="state running">running</span>`, // its state
		`<span id="detail-name">` + vm + `</span>`,   // selected from #vm=
		`&gt;typed-before-load`,                      // console scrollback over the WebSocket
		`attached to ` + vm,
		`<strong>` + vm + `</strong> started`, // the event log
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	if shot := os.Getenv("POPEK_SCREENSHOT"); shot != "" {
		abs, _ := filepath.Abs(shot)
		run("--screenshot=" + abs)
		t.Logf("screenshot in %s", abs)
	}
}
