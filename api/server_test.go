package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/popek-vm/popek/vmm"
	"github.com/popek-vm/popek/vmm/testguest"
)

// fixture is a manager with bare-metal guests on disk and the API on an
// httptest server.
type fixture struct {
	mgr        *vmm.Manager
	srv        *httptest.Server
	echo, idle string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, vmm.Options{})
}

// newFixtureWith opens the manager with opts (in a temporary state
// directory).
func newFixtureWith(t *testing.T, opts vmm.Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	opts.StateDir = t.TempDir()
	mgr, err := vmm.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{mgr: mgr}
	if f.echo, err = testguest.Write(dir, "echo", testguest.Echo); err != nil {
		t.Fatal(err)
	}
	if f.idle, err = testguest.Write(dir, "idle", testguest.Idle); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(NewServer(mgr, nil))
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		mgr.Close()
	})
	return f
}

func (f *fixture) vmDoc(name, kernel string) string {
	return fmt.Sprintf("name: %s\nkernel: %s\nbios: none\nmemory: 16M\nrng: false\n", name, kernel)
}

type call struct {
	method, path, body string
	status             int
	contains           string
}

func (f *fixture) do(t *testing.T, c call) string {
	t.Helper()
	req, err := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != c.status {
		t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, resp.StatusCode, c.status, body)
	}
	if !strings.Contains(string(body), c.contains) {
		t.Fatalf("%s %s: body %s, want it to contain %q", c.method, c.path, body, c.contains)
	}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			t.Fatalf("%s %s: error body %q is not {\"error\": ...}", c.method, c.path, body)
		}
	}
	return string(body)
}

// eventually repeats a call until its body contains what it should; guest
// output arrives asynchronously.
func (f *fixture) eventually(t *testing.T, c call) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(c.method, f.srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == c.status && strings.Contains(string(body), c.contains) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s never gave %d with %q; last %d %q", c.method, c.path, c.status, c.contains, resp.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAPIContract(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("#", maxConfigBytes+1)
	steps := []call{
		{"GET", "/openapi.json", "", 200, `"openapi": "3.0.3"`},
		{"GET", "/v1/vms", "", 200, "[]"},
		{"POST", "/v1/vms", f.vmDoc("e", f.echo), 201, `"state": "stopped"`},
		{"POST", "/v1/vms", f.vmDoc("e", f.echo), 409, `a VM named \"e\" already exists`},
		{"POST", "/v1/vms", "name: bad\nvcpus: 99\n", 400, "vcpus: 99 is out of range"},
		{"POST", "/v1/vms", "name: bad\nvcpu: 2\n", 400, "field vcpu not found"},
		{"POST", "/v1/vms", "name: bad\nmemory: 12Q\n", 400, "bad size"},
		{"POST", "/v1/vms", "name: bad\nkernel: /nonexistent\n", 400, "kernel: stat /nonexistent"},
		{"POST", "/v1/vms", "", 400, "empty document"},
		{"POST", "/v1/vms", big, 413, "request body too large"},
		{"POST", "/v1/vms", fmt.Sprintf(`{"name": "j", "kernel": %q, "bios": "none", "memory": "16M"}`, f.idle), 201, `"name": "j"`},
		{"GET", "/v1/vms", "", 200, `"name": "j"`},
		{"GET", "/v1/vms/e", "", 200, `"memory": "16M"`},
		{"GET", "/v1/vms/nope", "", 404, `no VM named \"nope\"`},
		{"GET", "/v1/vms/e/stats", "", 200, `"state": "stopped"`},
		{"GET", "/v1/vms/nope/stats", "", 404, "no VM"},
		{"POST", "/v1/vms/e/pause", "", 409, `cannot pause VM \"e\": it is stopped`},
		{"POST", "/v1/vms/e/resume", "", 409, "cannot resume"},
		{"POST", "/v1/vms/e/stop", "", 409, "cannot stop"},
		{"POST", "/v1/vms/e/reboot", "", 409, "cannot reboot"},
		{"POST", "/v1/vms/nope/start", "", 404, "no VM"},
		{"POST", "/v1/vms/e/console/input", "x", 409, "cannot type"},
		{"POST", "/v1/vms/nope/console/input", "x", 404, "no VM"},
		{"GET", "/v1/vms/nope/console", "", 404, "no VM"},
		{"POST", "/v1/vms/e/start", "", 200, `"state": "running"`},
		{"POST", "/v1/vms/e/start", "", 409, "cannot start"},
		{"POST", "/v1/vms/e/resume", "", 409, "it is running"},
		{"GET", "/v1/vms/e/console?scrollback=maybe", "", 400, "scrollback"},
	}
	for _, c := range steps {
		f.do(t, c)
	}
	f.eventually(t, call{"GET", "/v1/vms/e/console?scrollback=1&follow=0", "", 200, ">"})
	f.do(t, call{"POST", "/v1/vms/e/console/input", "hi there", 200, `"written": 8`})
	f.eventually(t, call{"GET", "/v1/vms/e/console?scrollback=true&follow=false", "", 200, ">hi there"})
	steps = []call{
		{"GET", "/v1/vms/e/stats", "", 200, `"instructions_retired"`},
		{"POST", "/v1/vms/e/pause", "", 200, `"state": "paused"`},
		{"POST", "/v1/vms/e/pause", "", 409, "it is paused"},
		{"POST", "/v1/vms/e/console/input", "x", 409, "it is paused"},
		{"POST", "/v1/vms/e/resume", "", 200, `"state": "running"`},
		{"POST", "/v1/vms/e/reboot", "", 200, `"state": "running"`},
		{"DELETE", "/v1/vms/e", "", 409, "stop it first, or force"},
		{"DELETE", "/v1/vms/e?force=sure", "", 400, "force"},
		{"GET", "/metrics", "", 200, `popek_vm_state{state="running",vm="e"} 1`},
		{"GET", "/metrics", "", 200, `popek_vm_instructions_retired_total{vm="e"}`},
		{"GET", "/metrics", "", 200, `popek_vm_memory_bytes{vm="j"} 1.6777216e+07`},
		{"GET", "/metrics", "", 200, "go_goroutines"},
		{"POST", "/v1/vms/e/stop", "", 200, `"state": "stopped"`},
		{"POST", "/v1/vms/e/start", "", 200, `"state": "running"`},
		{"DELETE", "/v1/vms/e?force=true", "", 204, ""},
		{"GET", "/v1/vms/e", "", 404, "no VM"},
		{"DELETE", "/v1/vms/e", "", 404, "no VM"},
		{"DELETE", "/v1/vms/j", "", 204, ""},
		{"GET", "/v1/events?since=0&follow=false", "", 200, `"type":"deleted"`},
		{"GET", "/v1/events?since=yesterday", "", 400, "since"},
		{"GET", "/v1/events?follow=perhaps", "", 400, "follow"},
		{"PUT", "/v1/vms", "", 405, "method not allowed (allowed: GET, POST)"},
		{"PATCH", "/v1/vms/e/start", "", 405, "allowed: POST"},
		{"GET", "/v1/nothing", "", 404, "no endpoint /v1/nothing"},
	}
	for _, c := range steps {
		f.do(t, c)
	}
}

func TestAPIEvents(t *testing.T) {
	f := newFixture(t)
	start := time.Now().UTC()
	f.do(t, call{"POST", "/v1/vms", f.vmDoc("a", f.idle), 201, ""})
	f.do(t, call{"POST", "/v1/vms/a/start", "", 200, ""})

	lines := func(path string) []vmm.Event {
		body := f.do(t, call{"GET", path, "", 200, ""})
		var evs []vmm.Event
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			var e vmm.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			evs = append(evs, e)
		}
		return evs
	}
	cases := []struct {
		path  string
		types []string
	}{
		{"/v1/events?since=0&follow=false", []string{"created", "started"}},
		{"/v1/events?since=1&follow=false", []string{"started"}},
		{"/v1/events?since=2&follow=false", nil},
		{"/v1/events?follow=false&since=" + start.Add(-time.Second).Format(time.RFC3339Nano), []string{"created", "started"}},
	}
	for _, c := range cases {
		evs := lines(c.path)
		var got []string
		for _, e := range evs {
			got = append(got, e.Type)
		}
		if strings.Join(got, ",") != strings.Join(c.types, ",") {
			t.Errorf("%s: events %v, want %v", c.path, got, c.types)
		}
	}

	// A following stream delivers new events as they happen.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("content type %q", ct)
	}
	f.do(t, call{"POST", "/v1/vms/a/pause", "", 200, ""})
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("stream ended: %v", sc.Err())
	}
	var e vmm.Event
	json.Unmarshal(sc.Bytes(), &e)
	if e.Type != "paused" || e.VM != "a" || e.State != vmm.StatePaused || e.Seq != 3 {
		t.Fatalf("streamed %+v", e)
	}
}

func TestAPIConsoleWebSocket(t *testing.T) {
	f := newFixture(t)
	f.do(t, call{"POST", "/v1/vms", f.vmDoc("w", f.echo), 201, ""})
	f.do(t, call{"POST", "/v1/vms/w/start", "", 200, ""})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/v1/vms/w/console?scrollback=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var out bytes.Buffer
	readUntil := func(want string) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			typ, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("reading console for %q: %v (have %q)", want, err, out.String())
			}
			if typ == websocket.MessageBinary {
				out.Write(data)
			}
		}
	}
	readUntil(">")
	if err := c.Write(ctx, websocket.MessageBinary, []byte("typed over ws")); err != nil {
		t.Fatal(err)
	}
	readUntil(">typed over ws")
	// Stopping the VM is announced on the socket as a text notice.
	f.do(t, call{"POST", "/v1/vms/w/stop", "", 200, ""})
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("no stop notice: %v", err)
		}
		if typ != websocket.MessageText {
			continue
		}
		var n ConsoleNotice
		if err := json.Unmarshal(data, &n); err != nil {
			t.Fatal(err)
		}
		if n.Type == vmm.EventStopped && n.State == vmm.StateStopped {
			break
		}
	}
}

func TestAPIToken(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(WithToken(NewServer(f.mgr, nil), "s3cret-token-0123456789"))
	defer srv.Close()
	cases := []struct {
		header string
		status int
	}{
		{"", 401},
		{"Bearer wrong", 401},
		{"s3cret-token-0123456789", 401},
		{"Bearer s3cret-token-0123456789", 200},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/vms", nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("Authorization %q: %d %s, want %d", c.header, resp.StatusCode, body, c.status)
		}
	}
	// The client sends the token.
	cl := NewTCPClient(strings.TrimPrefix(srv.URL, "http://"), "s3cret-token-0123456789")
	if _, err := cl.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := NewTCPClient(strings.TrimPrefix(srv.URL, "http://"), "nope")
	if _, err := bad.List(context.Background()); err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestOpenAPIDocument checks that the document lists every endpoint of the
// API, each with responses, and that every documented operation is routed.
func TestOpenAPIDocument(t *testing.T) {
	f := newFixture(t)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Comps   struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(f.do(t, call{"GET", "/openapi.json", "", 200, ""})), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"get /openapi.json", "get /metrics",
		"post /v1/vms", "get /v1/vms", "get /v1/vms/{name}", "delete /v1/vms/{name}",
		"post /v1/vms/{name}/start", "post /v1/vms/{name}/pause", "post /v1/vms/{name}/resume",
		"post /v1/vms/{name}/stop", "post /v1/vms/{name}/reboot",
		"get /v1/vms/{name}/console", "post /v1/vms/{name}/console/input", "post /v1/vms/{name}/console/ticket",
		"get /v1/vms/{name}/stats", "get /v1/events",
		"get /v1/vms/{name}/balloon", "put /v1/vms/{name}/balloon",
		"post /v1/vms/{name}/snapshots", "get /v1/vms/{name}/snapshots",
		"delete /v1/vms/{name}/snapshots/{snap}", "post /v1/vms/{name}/snapshots/{snap}/revert",
		"post /v1/templates", "get /v1/templates", "delete /v1/templates/{name}",
		"post /v1/vms/{name}/migrate", "post /v1/migrations",
	}
	n := 0
	for _, ops := range doc.Paths {
		n += len(ops)
	}
	if n != len(want) {
		t.Errorf("document has %d operations, want %d", n, len(want))
	}
	for _, w := range want {
		method, path, _ := strings.Cut(w, " ")
		op, ok := doc.Paths[path][method]
		if !ok {
			t.Errorf("%s is not documented", w)
			continue
		}
		if resp, _ := op["responses"].(map[string]any); len(resp) == 0 || op["summary"] == "" {
			t.Errorf("%s has no responses or summary", w)
		}
		// Routed: a request never gets the "no endpoint" answer.
		req, _ := http.NewRequest(strings.ToUpper(method), f.srv.URL+strings.ReplaceAll(path, "{name}", "ghost")+"?follow=false", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "no endpoint") || resp.StatusCode == 405 {
			t.Errorf("%s is documented but not routed: %d %s", w, resp.StatusCode, body)
		}
	}
	for _, s := range []string{"Config", "VMInfo", "VMStats", "Event", "ErrorBody", "DriveConfig", "RateLimitConfig",
		"SnapshotRequest", "SnapshotInfo", "TemplateRequest", "TemplateInfo"} {
		if _, ok := doc.Comps.Schemas[s]; !ok {
			t.Errorf("schema %s missing", s)
		}
	}
}
