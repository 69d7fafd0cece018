package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// browser is headless Chromium driven over the DevTools protocol, for
// tests that use the dashboard as a person would: type, click, wait.
type browser struct {
	t    *testing.T
	ctx  context.Context // bounds waitFor; each protocol call has its own bound
	conn *websocket.Conn
	mu   sync.Mutex
	id   int
}

// callTimeout bounds one DevTools round trip, so that a wait that runs
// out still gets to report what the page shows.
const callTimeout = 30 * time.Second

// startBrowser runs chromium on a fresh profile and attaches to its first
// tab; the test skips where chromium is not installed.
func startBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+chromiumProfile(t), "--window-size=1280,800", "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers are killed with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	// Chromium names its DevTools endpoint on stderr.
	var endpoint string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, ws, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
			endpoint = ws
			break
		}
	}
	if endpoint == "" {
		t.Fatalf("chromium did not announce its DevTools endpoint: %v", sc.Err())
	}
	go func() { // keep draining, so chromium never blocks on a full pipe
		for sc.Scan() {
		}
	}()
	host := strings.TrimPrefix(endpoint, "ws://")
	host, _, _ = strings.Cut(host, "/")
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+host+"/json/list", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			conn, _, err := websocket.Dial(ctx, tg.WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetReadLimit(64 << 20)
			t.Cleanup(func() { conn.CloseNow() })
			return &browser{t: t, ctx: ctx, conn: conn}
		}
	}
	t.Fatalf("chromium has no page target: %+v", targets)
	return nil
}

// chromiumProfile is a fresh, empty profile directory. Chromium's helper
// processes may still be writing to it when a test ends, so it is removed
// with retries and a leftover is not a test failure (unlike t.TempDir).
func chromiumProfile(t *testing.T) string {
	dir, err := os.MkdirTemp("", "popek-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50 && os.RemoveAll(dir) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

// send calls a DevTools method and returns its result, skipping events.
func (b *browser) send(method string, params any) json.RawMessage {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.id++
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	msg, _ := json.Marshal(map[string]any{"id": b.id, "method": method, "params": params})
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	for {
		_, data, err := b.conn.Read(ctx)
		if err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
		var r struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if json.Unmarshal(data, &r) != nil || r.ID != b.id {
			continue
		}
		if r.Error != nil {
			b.t.Fatalf("%s: %s", method, r.Error.Message)
		}
		return r.Result
	}
}

// eval runs JavaScript in the page and returns its value as JSON.
func (b *browser) eval(js string) json.RawMessage {
	b.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	json.Unmarshal(b.send("Runtime.evaluate", map[string]any{"expression": js, "returnByValue": true, "awaitPromise": true}), &r)
	if r.ExceptionDetails != nil {
		b.t.Fatalf("eval %q: %s %s", js, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	return r.Result.Value
}

// waitFor polls a JavaScript condition until it is true; the test's
// context bounds the wait.
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	// Exceptions count as false: the page may still be loading.
	for string(b.eval("(() => { try { return !!("+js+"); } catch { return false; } })()")) != "true" {
		if b.ctx.Err() != nil {
			b.t.Fatalf("waiting for %s (%s): %v; page text:\n%s", what, js, b.ctx.Err(), b.eval("document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	b.send("Page.navigate", map[string]any{"url": url})
}

// typeText sends real key events, as a person typing would.
func (b *browser) typeText(s string) {
	b.t.Helper()
	for _, r := range s {
		key := string(r)
		b.send("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": key, "text": key})
		b.send("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key})
	}
}

// click clicks the button whose text is label inside the element sel.
func (b *browser) click(sel, label string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const b = [...document.querySelectorAll(%q + ' button')].find((x) => x.textContent === %q && !x.disabled); if (b) b.click(); return !!b; })()`, sel, label)
	b.waitFor("button "+label, js)
}
