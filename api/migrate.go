package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/popek-vm/popek/vmm"
)

// Live migration: the client asks the source daemon (POST
// /v1/vms/{name}/migrate); the source connects to the target daemon's
// POST /v1/migrations?name=NAME, which upgrades the connection to the
// migration stream (Upgrade: popek-migration/1, 101 Switching
// Protocols) and hands it to vmm.Manager.ReceiveMigration. Over TCP the
// target wants its bearer token, as every request does.

// MigrationUpgrade is the Upgrade token of the migration stream.
const MigrationUpgrade = "popek-migration/1"

// MigrateRequest asks a daemon to move one of its VMs to another daemon.
type MigrateRequest struct {
	// Target is the target daemon's TCP API address (HOST:PORT).
	Target string `json:"target,omitempty"`
	// Socket is the target daemon's Unix socket instead (same host).
	Socket string `json:"socket,omitempty"`
	// Token is the target's bearer token (with Target).
	Token string `json:"token,omitempty"`
	// Compress sends memory zstd-compressed (for slow links).
	Compress bool `json:"compress,omitempty"`
}

func (r *MigrateRequest) check() error {
	switch {
	case (r.Target == "") == (r.Socket == ""):
		return &vmm.Error{Kind: vmm.KindInvalid, Msg: "give the target daemon as exactly one of target (HOST:PORT) and socket (a Unix socket path)"}
	case r.Target != "" && r.Token == "":
		return &vmm.Error{Kind: vmm.KindInvalid, Msg: "token: the target daemon's TCP API needs its bearer token"}
	case r.Target != "":
		if _, _, err := net.SplitHostPort(r.Target); err != nil {
			return &vmm.Error{Kind: vmm.KindInvalid, Msg: fmt.Sprintf("target %q: %v", r.Target, err)}
		}
	}
	return nil
}

func (r *MigrateRequest) where() string {
	if r.Socket != "" {
		return "unix:" + r.Socket
	}
	return r.Target
}

// dialError is a failure to reach the target or an answer other than the
// upgrade; Status is the target's HTTP status (0: none).
type dialError struct {
	Status int
	Msg    string
}

func (e *dialError) Error() string { return e.Msg }

// DialMigration connects to the target daemon of req and upgrades the
// connection to a migration stream for VM name.
func DialMigration(ctx context.Context, req MigrateRequest, name string) (net.Conn, error) {
	var d net.Dialer
	var conn net.Conn
	var err error
	if req.Socket != "" {
		conn, err = d.DialContext(ctx, "unix", req.Socket)
	} else {
		conn, err = d.DialContext(ctx, "tcp", req.Target)
	}
	if err != nil {
		return nil, &dialError{Msg: fmt.Sprintf("connecting to the target daemon at %s: %v", req.where(), err)}
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	hreq, _ := http.NewRequest(http.MethodPost, "http://popek/v1/migrations?name="+url.QueryEscape(name), nil)
	hreq.Header.Set("Connection", "Upgrade")
	hreq.Header.Set("Upgrade", MigrationUpgrade)
	if req.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.Token)
	}
	if err := hreq.Write(conn); err != nil {
		conn.Close()
		return nil, &dialError{Msg: fmt.Sprintf("target daemon at %s: %v", req.where(), err)}
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, hreq)
	if err != nil {
		conn.Close()
		return nil, &dialError{Msg: fmt.Sprintf("target daemon at %s: %v", req.where(), err)}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer conn.Close()
		var eb ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(resp.Status + " " + string(data))
		}
		return nil, &dialError{Status: resp.StatusCode, Msg: "the target daemon refused: " + eb.Error}
	}
	return &bufferedConn{Conn: conn, r: br}, nil
}

// bufferedConn reads through the bufio.Reader that read the HTTP answer,
// which may hold the first bytes of the stream.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (s *Server) handleMigrate(w http.ResponseWriter, r *http.Request) {
	var req MigrateRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeVMMError(w, err)
		return
	}
	if err := req.check(); err != nil {
		writeVMMError(w, err)
		return
	}
	name := r.PathValue("name")
	in, err := s.mgr.Get(name)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	if in.State != vmm.StateRunning && in.State != vmm.StatePaused {
		writeError(w, http.StatusConflict, fmt.Sprintf("cannot migrate VM %q: it is %s", name, in.State))
		return
	}
	conn, err := DialMigration(r.Context(), req, name)
	if err != nil {
		var de *dialError
		status := http.StatusBadGateway
		if errors.As(err, &de) && de.Status == http.StatusConflict {
			status = http.StatusConflict // a VM of that name exists there
		}
		writeError(w, status, fmt.Sprintf("migrating VM %q: %v", name, err))
		return
	}
	res, err := s.mgr.Migrate(r.Context(), name, conn, vmm.MigrateOptions{Target: req.where(), Compress: req.Compress})
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleIncoming is the target's end: it upgrades the connection and
// receives the VM.
func (s *Server) handleIncoming(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), MigrationUpgrade) {
		writeError(w, http.StatusBadRequest, "this endpoint takes a migration stream: send Upgrade: "+MigrationUpgrade+" (popek migrate does)")
		return
	}
	name := r.URL.Query().Get("name")
	if err := s.mgr.CheckIncoming(name); err != nil {
		writeVMMError(w, err)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot take over the connection: "+err.Error())
		return
	}
	conn.SetDeadline(time.Time{}) // the server's timeouts do not apply to the stream
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + MigrationUpgrade + "\r\n\r\n")
	if err := rw.Flush(); err != nil {
		conn.Close()
		return
	}
	in, err := s.mgr.ReceiveMigration(r.Context(), &bufferedConn{Conn: conn, r: rw.Reader})
	if err != nil {
		s.log.Warn("incoming migration refused or failed", "vm", name, "err", err)
		return
	}
	s.log.Info("vm arrived by live migration", "vm", in.Name, "state", in.State)
}

// Migrate asks the daemon to move VM name to the daemon req names; it
// returns when the VM runs there (or the migration failed and it runs on
// here).
func (c *Client) Migrate(ctx context.Context, name string, req MigrateRequest) (vmm.MigrationResult, error) {
	var res vmm.MigrationResult
	err := c.postJSON(ctx, vmPath(name, "migrate"), req, &res)
	return res, err
}
