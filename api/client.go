package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/coder/websocket"
	"github.com/popek-vm/popek/vmm"
)

// Client talks to a popek daemon.
type Client struct {
	http   *http.Client
	base   string // http://host, for URLs
	token  string
	socket string // for error messages; "" over TCP
}

// NewUnixClient connects through the daemon's Unix socket.
func NewUnixClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &Client{http: &http.Client{Transport: tr}, base: "http://popek", socket: socket}
}

// NewTCPClient connects to addr (host:port) with a bearer token.
func NewTCPClient(addr, token string) *Client {
	return &Client{http: &http.Client{}, base: "http://" + addr, token: token}
}

// APIError is an error answer from the daemon.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// ErrNoDaemon means nothing listens at the socket or address.
var ErrNoDaemon = errors.New("the popek daemon is not running")

func (c *Client) wrapDialError(err error) error {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		where := c.base
		if c.socket != "" {
			where = c.socket
		}
		return fmt.Errorf("%w (nothing listening at %s; start it with `popek serve`)", ErrNoDaemon, where)
	}
	return err
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.wrapDialError(err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var eb ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
		}
		return nil, &APIError{Status: resp.StatusCode, Message: eb.Error}
	}
	return resp, nil
}

// do sends a request and decodes a JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	resp, err := c.request(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func vmPath(name string, rest ...string) string {
	p := "/v1/vms/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Create defines a VM from a YAML or JSON config document.
func (c *Client) Create(ctx context.Context, doc []byte) (vmm.VMInfo, error) {
	var in vmm.VMInfo
	ct := "application/yaml"
	if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' {
		ct = "application/json"
	}
	err := c.do(ctx, http.MethodPost, "/v1/vms", bytes.NewReader(doc), ct, &in)
	return in, err
}

// List returns every VM.
func (c *Client) List(ctx context.Context) ([]vmm.VMInfo, error) {
	var out []vmm.VMInfo
	err := c.do(ctx, http.MethodGet, "/v1/vms", nil, "", &out)
	return out, err
}

// Get describes one VM.
func (c *Client) Get(ctx context.Context, name string) (vmm.VMInfo, error) {
	var in vmm.VMInfo
	err := c.do(ctx, http.MethodGet, vmPath(name), nil, "", &in)
	return in, err
}

// Delete removes a VM; force stops it first.
func (c *Client) Delete(ctx context.Context, name string, force bool) error {
	p := vmPath(name)
	if force {
		p += "?force=true"
	}
	return c.do(ctx, http.MethodDelete, p, nil, "", nil)
}

// Action runs start, pause, resume, stop or reboot.
func (c *Client) Action(ctx context.Context, name, action string) (vmm.VMInfo, error) {
	var in vmm.VMInfo
	err := c.do(ctx, http.MethodPost, vmPath(name, action), nil, "", &in)
	return in, err
}

// Stats returns a VM's statistics.
func (c *Client) Stats(ctx context.Context, name string) (vmm.VMStats, error) {
	var st vmm.VMStats
	err := c.do(ctx, http.MethodGet, vmPath(name, "stats"), nil, "", &st)
	return st, err
}

// Balloon reports a running VM's balloon, with fresh guest statistics
// when the guest answers within a second.
func (c *Client) Balloon(ctx context.Context, name string) (vmm.BalloonInfo, error) {
	var in vmm.BalloonInfo
	err := c.do(ctx, http.MethodGet, vmPath(name, "balloon"), nil, "", &in)
	return in, err
}

// SetBalloon sets a running VM's balloon size.
func (c *Client) SetBalloon(ctx context.Context, name string, size vmm.Size) (vmm.BalloonInfo, error) {
	body, err := json.Marshal(vmm.BalloonRequest{Size: size})
	if err != nil {
		return vmm.BalloonInfo{}, err
	}
	var in vmm.BalloonInfo
	err = c.do(ctx, http.MethodPut, vmPath(name, "balloon"), bytes.NewReader(body), "application/json", &in)
	return in, err
}

// ConsoleInput types data on a VM's console.
func (c *Client) ConsoleInput(ctx context.Context, name string, data []byte) error {
	return c.do(ctx, http.MethodPost, vmPath(name, "console", "input"), bytes.NewReader(data), "application/octet-stream", nil)
}

// Events streams lifecycle events after since (0: only new ones when
// since is empty) to fn until ctx ends, fn fails, or (follow false) the
// replay is over.
func (c *Client) Events(ctx context.Context, since string, follow bool, fn func(vmm.Event) error) error {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if !follow {
		q.Set("follow", "false")
	}
	p := "/v1/events"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	resp, err := c.request(ctx, http.MethodGet, p, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e vmm.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("bad event line: %v", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// Console opens a VM's console WebSocket (see the API document).
func (c *Client) Console(ctx context.Context, name string, scrollback bool) (*websocket.Conn, error) {
	if _, err := c.Get(ctx, name); err != nil {
		return nil, err // a clear 404 or no-daemon error before the upgrade
	}
	u := "ws" + strings.TrimPrefix(c.base, "http") + vmPath(name, "console")
	if scrollback {
		u += "?scrollback=true"
	}
	h := http.Header{}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
	if err != nil {
		return nil, c.wrapDialError(err)
	}
	conn.SetReadLimit(1 << 20)
	return conn, nil
}

// Raw performs a GET and returns the body, for /openapi.json and /metrics.
func (c *Client) Raw(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.request(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func templatePath(name string) string { return "/v1/templates/" + url.PathEscape(name) }

// postJSON sends v as a JSON body and decodes the answer into out.
func (c *Client) postJSON(ctx context.Context, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, bytes.NewReader(body), "application/json", out)
}

// CreateSnapshot snapshots a running or paused VM.
func (c *Client) CreateSnapshot(ctx context.Context, vm string, req vmm.SnapshotRequest) (vmm.SnapshotInfo, error) {
	var in vmm.SnapshotInfo
	err := c.postJSON(ctx, vmPath(vm, "snapshots"), req, &in)
	return in, err
}

// ListSnapshots lists a VM's snapshots, oldest first.
func (c *Client) ListSnapshots(ctx context.Context, vm string) ([]vmm.SnapshotInfo, error) {
	var out []vmm.SnapshotInfo
	err := c.do(ctx, http.MethodGet, vmPath(vm, "snapshots"), nil, "", &out)
	return out, err
}

// DeleteSnapshot deletes a VM's snapshot.
func (c *Client) DeleteSnapshot(ctx context.Context, vm, snap string) error {
	return c.do(ctx, http.MethodDelete, vmPath(vm, "snapshots", url.PathEscape(snap)), nil, "", nil)
}

// RevertSnapshot replaces a VM's machine by the snapshot's.
func (c *Client) RevertSnapshot(ctx context.Context, vm, snap string) (vmm.VMInfo, error) {
	var in vmm.VMInfo
	err := c.do(ctx, http.MethodPost, vmPath(vm, "snapshots", url.PathEscape(snap), "revert"), nil, "", &in)
	return in, err
}

// CreateTemplate makes a template from a VM or one of its snapshots.
func (c *Client) CreateTemplate(ctx context.Context, req vmm.TemplateRequest) (vmm.TemplateInfo, error) {
	var in vmm.TemplateInfo
	err := c.postJSON(ctx, "/v1/templates", req, &in)
	return in, err
}

// ListTemplates lists the templates.
func (c *Client) ListTemplates(ctx context.Context) ([]vmm.TemplateInfo, error) {
	var out []vmm.TemplateInfo
	err := c.do(ctx, http.MethodGet, "/v1/templates", nil, "", &out)
	return out, err
}

// DeleteTemplate deletes a template.
func (c *Client) DeleteTemplate(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, templatePath(name), nil, "", nil)
}
