package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/popek-vm/popek/api/dashboard"
	"github.com/popek-vm/popek/vmm"
	"github.com/popek-vm/popek/vswitch"
)

const dashToken = "dashboard-token-0123456789"

// daemon serves one Server as popek serve does: plainly on a Unix socket,
// behind WithToken on TCP.
type daemon struct {
	*fixture
	api      *Server
	unix     *http.Client // base http://popek
	tcp      string       // base URL of the TCP listener
	tcpHost  string
	unixSock string
}

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	// With network backends, as popek serve has, so that VMs with NICs
	// can be defined.
	f := newFixtureWith(t, vmm.Options{Backends: vmm.NewBackends(vswitch.NewRegistry(vswitch.Options{HostDir: t.TempDir()}))})
	d := &daemon{fixture: f, api: NewServer(f.mgr, nil), unixSock: shortSocket(t)}
	ul, err := ListenUnix(d.unixSock)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	us, ts := &http.Server{Handler: d.api}, &http.Server{Handler: WithToken(d.api, dashToken)}
	go us.Serve(ul)
	go ts.Serve(tl)
	t.Cleanup(func() { us.Close(); ts.Close() })
	d.unix = NewUnixClient(d.unixSock).http
	d.tcpHost = tl.Addr().String()
	d.tcp = "http://" + d.tcpHost
	return d
}

// req sends one request and returns its status, headers and body.
func req(t *testing.T, cl *http.Client, method, url string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := cl.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

var bearer = map[string]string{"Authorization": "Bearer " + dashToken}

func TestDashboardOnBothListeners(t *testing.T) {
	d := newDaemon(t)
	d.do(t, call{"POST", "/v1/vms", d.vmDoc("listed", d.idle), 201, ""})
	listeners := []struct {
		name string
		cl   *http.Client
		base string
	}{
		{"unix", d.unix, "http://popek"},
		{"tcp", http.DefaultClient, d.tcp},
	}
	for _, l := range listeners {
		// No token: the page and its assets hold no data.
		status, h, body := req(t, l.cl, "GET", l.base+"/", nil)
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "/ui/app.js") {
			t.Errorf("%s: GET / = %d %q %.80q", l.name, status, h.Get("Content-Type"), body)
		}
		if h.Get("Content-Security-Policy") != dashboard.CSP || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: GET / headers %v", l.name, h)
		}
		if status, h, _ := req(t, l.cl, "GET", l.base+"/ui/app.js", nil); status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: GET /ui/app.js = %d %q", l.name, status, h.Get("Content-Type"))
		}
		if status, _, _ := req(t, l.cl, "GET", l.base+"/ui/missing.js", nil); status != 404 {
			t.Errorf("%s: GET /ui/missing.js = %d, want 404", l.name, status)
		}
		if status, _, body := req(t, l.cl, "DELETE", l.base+"/", bearer); status != 405 || !strings.Contains(body, "allowed: GET") {
			t.Errorf("%s: DELETE / = %d %s, want 405", l.name, status, body)
		}
	}
	// The API itself still wants the token on TCP, and only there.
	cases := []struct {
		method, path string
		hdr          map[string]string
		status       int
	}{
		{"GET", "/v1/vms", nil, 401},
		{"GET", "/v1/vms", map[string]string{"Authorization": "Bearer wrong"}, 401},
		{"GET", "/v1/vms", bearer, 200},
		{"GET", "/openapi.json", nil, 401},
		{"GET", "/metrics", nil, 401},
		{"GET", "/v1/events?follow=false", nil, 401},
		{"POST", "/v1/vms/x/console/ticket", nil, 401},
		{"POST", "/", nil, 401}, // only GET and HEAD of the page pass without it
		{"GET", "/ui", nil, 401},
	}
	for _, c := range cases {
		if status, _, body := req(t, http.DefaultClient, c.method, d.tcp+c.path, c.hdr); status != c.status {
			t.Errorf("tcp %s %s with %v: %d %s, want %d", c.method, c.path, c.hdr, status, body, c.status)
		}
	}
	// A path that only looks like an asset gets no data past the check.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/ui/../v1/vms", "/ui/%2e%2e/v1/vms", "/ui/..%2fv1/vms", "//v1/vms"} {
		if status, _, body := req(t, noRedirect, "GET", d.tcp+p, nil); status == 200 || strings.Contains(body, `"name"`) {
			t.Errorf("tcp GET %s without a token: %d %s", p, status, body)
		}
	}
	if status, _, _ := req(t, d.unix, "GET", "http://popek/v1/vms", nil); status != 200 {
		t.Errorf("unix GET /v1/vms: %d", status)
	}
}

// ticket asks the TCP listener for a console ticket for vm.
func (d *daemon) ticket(t *testing.T, vm string) string {
	t.Helper()
	r, _ := http.NewRequest("POST", d.tcp+"/v1/vms/"+vm+"/console/ticket", nil)
	r.Header.Set("Authorization", "Bearer "+dashToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk ConsoleTicket
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || resp.StatusCode != 201 || len(tk.Ticket) < 40 {
		t.Fatalf("ticket: %d %+v %v", resp.StatusCode, tk, err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || time.Until(tk.Expires) > ticketTTL {
		t.Fatalf("ticket headers %v, expires %v", resp.Header, tk.Expires)
	}
	return tk.Ticket
}

// dial opens the console WebSocket of vm on the TCP listener as a browser
// would: no Authorization header, an Origin; it returns the HTTP status.
func (d *daemon) dial(ctx context.Context, vm, query, origin string) (*websocket.Conn, int, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, resp, err := websocket.Dial(ctx, "ws://"+d.tcpHost+"/v1/vms/"+vm+"/console"+query, &websocket.DialOptions{HTTPHeader: h})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return c, status, err
}

func TestConsoleTicket(t *testing.T) {
	d := newDaemon(t)
	for _, vm := range []string{"a", "b"} {
		d.do(t, call{"POST", "/v1/vms", d.vmDoc(vm, d.echo), 201, ""})
		d.do(t, call{"POST", "/v1/vms/" + vm + "/start", "", 200, ""})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	self := "http://" + d.tcpHost

	// A ticket opens the console once, for its VM, with no token.
	tk := d.ticket(t, "a")
	c, status, err := d.dial(ctx, "a", "?scrollback=true&ticket="+tk, self)
	if err != nil {
		t.Fatalf("dial with ticket: %d %v", status, err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte("via-ticket")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for !strings.Contains(out.String(), ">via-ticket") {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("console: %v (have %q)", err, out.String())
		}
		if typ == websocket.MessageBinary {
			out.Write(data)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")

	refused := []struct {
		what, vm, query, origin string
		status                  int
	}{
		{"a used ticket", "a", "?ticket=" + tk, self, 401},
		{"no ticket", "a", "", self, 401},
		{"a made-up ticket", "a", "?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", self, 401},
		{"another VM's ticket", "b", "?ticket=" + d.ticket(t, "a"), self, 401},
		{"another site's page", "a", "?ticket=" + d.ticket(t, "a"), "http://evil.example", 403},
	}
	for _, r := range refused {
		if c, status, err := d.dial(ctx, r.vm, r.query, r.origin); err == nil || status != r.status {
			if c != nil {
				c.CloseNow()
			}
			t.Errorf("%s: status %d, err %v; want %d", r.what, status, err, r.status)
		}
	}
	expired := d.ticket(t, "a")
	d.api.tickets.mu.Lock()
	d.api.tickets.now = func() time.Time { return time.Now().Add(ticketTTL) }
	d.api.tickets.mu.Unlock()
	if c, status, err := d.dial(ctx, "a", "?ticket="+expired, self); err == nil || status != 401 {
		if c != nil {
			c.CloseNow()
		}
		t.Errorf("an expired ticket: status %d, err %v; want 401", status, err)
	}
	d.api.tickets.mu.Lock()
	d.api.tickets.now = time.Now
	d.api.tickets.mu.Unlock()
	// A ticket is only for the WebSocket: not a plain read, not another
	// endpoint, and the ticket route itself wants the token.
	for _, path := range []string{"/v1/vms/a/console?follow=false&ticket=", "/v1/vms?ticket=", "/v1/vms/a/stats?ticket="} {
		if status, _, _ := req(t, http.DefaultClient, "GET", d.tcp+path+d.ticket(t, "a"), nil); status != 401 {
			t.Errorf("GET %s<ticket>: %d, want 401", path, status)
		}
	}
	if status, _, body := req(t, http.DefaultClient, "POST", d.tcp+"/v1/vms/ghost/console/ticket", bearer); status != 404 || !strings.Contains(body, "no VM") {
		t.Errorf("ticket for an unknown VM: %d %s", status, body)
	}
}

func TestTicketsBounded(t *testing.T) {
	tk := newTickets()
	for i := 0; i < maxOpenTickets; i++ {
		if _, ok := tk.issue("a"); !ok {
			t.Fatalf("ticket %d refused", i)
		}
	}
	if _, ok := tk.issue("a"); ok {
		t.Fatal("more than maxOpenTickets outstanding")
	}
	// Expired tickets make room again.
	tk.now = func() time.Time { return time.Now().Add(ticketTTL) }
	if _, ok := tk.issue("a"); !ok || len(tk.open) != 1 {
		t.Fatalf("expired tickets not pruned: %d open", len(tk.open))
	}
}

// TestCrossOrigin checks that a page of another site cannot drive the API
// through a browser, on either listener.
func TestCrossOrigin(t *testing.T) {
	d := newDaemon(t)
	d.do(t, call{"POST", "/v1/vms", d.vmDoc("a", d.idle), 201, ""})
	cases := []struct {
		origin string
		status int
	}{
		{"http://evil.example", 403},
		{"null", 403},
		{"http://" + d.tcpHost, 200},
		{"", 200},
	}
	for _, c := range cases {
		for _, l := range []struct {
			cl   *http.Client
			base string
			host string
		}{{d.unix, "http://popek", "popek"}, {http.DefaultClient, d.tcp, d.tcpHost}} {
			hdr := map[string]string{"Authorization": "Bearer " + dashToken}
			if c.origin != "" {
				hdr["Origin"] = strings.Replace(c.origin, d.tcpHost, l.host, 1)
			}
			status, _, body := req(t, l.cl, "POST", l.base+"/v1/vms/a/start", hdr)
			if status != c.status {
				t.Errorf("%s POST start with Origin %q: %d %s, want %d", l.base, hdr["Origin"], status, body, c.status)
			}
			if status == 200 {
				d.do(t, call{"POST", "/v1/vms/a/stop", "", 200, ""})
			}
			// Reads are not refused: a browser does not let the other
			// site see the answer.
			if status, _, _ := req(t, l.cl, "GET", l.base+"/v1/vms", hdr); status != 200 {
				t.Errorf("%s GET with Origin %q: %d", l.base, hdr["Origin"], status)
			}
		}
	}
	// The WebSocket on the Unix socket checks Origin too.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.do(t, call{"POST", "/v1/vms/a/start", "", 200, ""})
	_, resp, err := websocket.Dial(ctx, "ws://popek/v1/vms/a/console", &websocket.DialOptions{
		HTTPClient: d.unix, HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin console over the socket: %v", err)
	}
}
