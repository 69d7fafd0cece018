package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/popek-vm/popek/vmm"
)

// shortSocket returns a socket path short enough for sun_path (108 bytes);
// t.TempDir paths can be longer.
func shortSocket(t *testing.T) string {
	dir, err := os.MkdirTemp("", "pk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "popek.sock")
}

// TestOverUnixSocket drives the API through a real Unix socket with the
// client the CLI uses.
func TestOverUnixSocket(t *testing.T) {
	f := newFixture(t)
	sock := shortSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c := NewUnixClient(sock)
	if _, err := c.List(ctx); !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), "popek serve") {
		t.Fatalf("no daemon: %v", err)
	}

	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v", fi.Mode(), err)
	}
	srv := &http.Server{Handler: NewServer(f.mgr, nil)}
	go srv.Serve(l)
	defer srv.Close()
	if _, err := ListenUnix(sock); err == nil || !strings.Contains(err.Error(), "another popek daemon") {
		t.Fatalf("second listener: %v", err)
	}

	info, err := c.Create(ctx, []byte(f.vmDoc("u", f.echo)))
	if err != nil || info.Name != "u" || info.State != vmm.StateStopped {
		t.Fatalf("Create = %+v, %v", info, err)
	}
	var ae *APIError
	if _, err := c.Create(ctx, []byte(f.vmDoc("u", f.echo))); !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := c.Action(ctx, "u", "start"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Action(ctx, "u", "start"); !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("second start: %v", err)
	}
	conn, err := c.Console(ctx, "u", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ConsoleInput(ctx, "u", []byte("via-socket")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for !strings.Contains(out.String(), ">via-socket") {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("console: %v (have %q)", err, out.String())
		}
		if typ == websocket.MessageBinary {
			out.Write(data)
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")
	for {
		// Instructions are counted at the end of each run slice.
		st, err := c.Stats(ctx, "u")
		if err != nil || st.State != vmm.StateRunning {
			t.Fatalf("Stats = %+v, %v", st, err)
		}
		if st.InstructionsRetired > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.Console(ctx, "ghost", false); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("console of unknown VM: %v", err)
	}
	if err := c.Delete(ctx, "u", true); err != nil {
		t.Fatal(err)
	}
	var types []string
	err = c.Events(ctx, "0", false, func(e vmm.Event) error { types = append(types, e.Type); return nil })
	if err != nil || strings.Join(types, ",") != "created,started,stopped,deleted" {
		t.Fatalf("events %v, %v", types, err)
	}
	body, err := c.Raw(ctx, "/openapi.json")
	if err != nil || !strings.Contains(string(body), `"/v1/vms/{name}/console"`) {
		t.Fatalf("openapi over the socket: %v", err)
	}
}

func TestListenUnixReplacesStaleSocket(t *testing.T) {
	sock := shortSocket(t)
	// A socket file with nobody behind it, as a crashed daemon leaves.
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatal(err)
	}
	l2, err := ListenUnix(sock)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
	// A regular file in the way is not a socket to take over.
	file := filepath.Join(filepath.Dir(sock), "file.sock")
	os.WriteFile(file, []byte("data"), 0o600)
	if _, err := ListenUnix(file); err == nil {
		t.Fatal("replaced a regular file")
	}
}
