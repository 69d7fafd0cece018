package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/popek-vm/popek/vmm/testguest"
)

// lockedBuffer collects output written from other goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon is `popek serve` running in the background of a test.
type daemon struct {
	socket string
	logs   *lockedBuffer
	stop   func() // idempotent; also run at cleanup
}

// startDaemon runs `popek serve` on stateDir and waits for its socket.
func startDaemon(t *testing.T, stateDir string) *daemon {
	t.Helper()
	return launchDaemon(t, tempSocketDir(t, "pkcli"), serveOptions{stateDir: stateDir}, func(d *daemon) bool {
		_, err := os.Stat(d.socket)
		return err == nil
	})
}

// tempSocketDir is a fresh directory with a short path (sun_path is 108
// bytes), removed at cleanup.
func tempSocketDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// launchDaemon runs `popek serve` with opts and its socket in dir, and
// waits until ready says it is up.
func launchDaemon(t *testing.T, dir string, opts serveOptions, ready func(*daemon) bool) *daemon {
	t.Helper()
	d := &daemon{socket: filepath.Join(dir, "s.sock"), logs: &lockedBuffer{}}
	opts.socket, opts.logFormat = d.socket, "text"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, &opts, true, d.logs) }()
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(d.stop)
	deadline := time.Now().Add(time.Minute)
	for !ready(d) {
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not come up:\n%s", d.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return d
}

// popek runs the CLI in-process.
func popek(t *testing.T, stdin *os.File, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuffer
	code = runMain(args, stdin, &out, &errb)
	return code, out.String(), errb.String()
}

// cliStep is one popek command line and what it must print.
type cliStep struct {
	args     []string
	code     int
	out, err string
}

// runSteps runs each step and stops at the first wrong exit status or
// output; an error must be one line.
func runSteps(t *testing.T, steps []cliStep) {
	t.Helper()
	for _, st := range steps {
		code, out, errOut := popek(t, nil, st.args...)
		if code != st.code || !strings.Contains(out, st.out) || !strings.Contains(errOut, st.err) {
			t.Fatalf("popek %v: exit %d, stdout %q, stderr %q; want %d, %q, %q", st.args, code, out, errOut, st.code, st.out, st.err)
		}
		if strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("popek %v: error is not one line: %q", st.args, errOut)
		}
	}
}

// consoleSession is `popek console` attached through a pipe.
type consoleSession struct {
	r, w      *os.File
	out, errb lockedBuffer
	done      chan int
}

func openConsole(socketFlag, vm string) *consoleSession {
	c := &consoleSession{done: make(chan int)}
	c.r, c.w, _ = os.Pipe()
	go func() { c.done <- runMain([]string{"console", socketFlag, vm}, c.r, &c.out, &c.errb) }()
	return c
}

// typeAndWait types text and waits until want is on the console.
func (c *consoleSession) typeAndWait(t *testing.T, text, want string) {
	t.Helper()
	fmt.Fprint(c.w, text)
	waitOutput(t, &c.out, want)
}

// detach sends Ctrl-A X; the console must exit 0. It returns its stderr.
func (c *consoleSession) detach(t *testing.T) string {
	t.Helper()
	c.w.Write([]byte{0x01, 'x'})
	code := <-c.done
	c.w.Close()
	c.r.Close()
	if code != 0 {
		t.Fatalf("console exit %d: %s", code, c.errb.String())
	}
	return c.errb.String()
}

func TestDaemonCLI(t *testing.T) {
	state := t.TempDir()
	sock := startDaemon(t, state).socket
	guests := t.TempDir()
	if _, err := testguest.Write(guests, "echo", testguest.Echo); err != nil {
		t.Fatal(err)
	}
	// Paths in the document are relative to its directory.
	doc := filepath.Join(guests, "vm.yaml")
	os.WriteFile(doc, []byte("name: cli\nkernel: echo.elf\nbios: none\nmemory: 16M\nrng: false\n"), 0o644)
	os.WriteFile(filepath.Join(guests, "bal.yaml"), []byte("name: bal\nkernel: echo.elf\nbios: none\nmemory: 16M\nrng: false\nballoon:\n  size: 2M\n"), 0o644)
	os.WriteFile(filepath.Join(guests, "bad.yaml"), []byte("name: bad\nvcpus: 0\nmemroy: 1G\n"), 0o644)

	s := "--socket=" + sock
	steps := []cliStep{
		{[]string{"ls", s}, 0, "NAME", ""},
		{[]string{"create", s, "-f", doc, "--start"}, 0, "created cli\nstarted cli", ""},
		{[]string{"create", s, "-f", doc}, 1, "", `popek: a VM named "cli" already exists`},
		{[]string{"create", s, "-f", filepath.Join(guests, "bad.yaml")}, 1, "", "field memroy not found"},
		{[]string{"create", s}, 1, "", "-f FILE is required"},
		{[]string{"ls", s}, 0, "cli   running", ""},
		{[]string{"inspect", s, "cli"}, 0, filepath.Join(guests, "echo.elf"), ""},
		{[]string{"inspect", s, "ghost"}, 1, "", `popek: no VM named "ghost"`},
		{[]string{"start", s, "cli"}, 1, "", `cannot start VM "cli": it is running`},
		{[]string{"pause", s, "cli"}, 0, "cli: paused", ""},
		{[]string{"stats", s, "cli"}, 0, "instructions retired", ""},
		{[]string{"balloon", s, "cli"}, 1, "", `popek: VM "cli" has no balloon`},
		{[]string{"resume", s, "cli"}, 0, "cli: running", ""},
		{[]string{"reboot", s, "cli"}, 0, "cli: running", ""},
		{[]string{"rm", s, "cli"}, 1, "", "stop it first, or force"},
		{[]string{"create", s, "-f", filepath.Join(guests, "bal.yaml"), "--start"}, 0, "started bal", ""},
		{[]string{"balloon", s, "bal"}, 0, "target        2.0 MiB", ""},
		{[]string{"balloon", s, "bal", "6M"}, 0, "target        6.0 MiB", ""},
		{[]string{"balloon", s, "bal", "16M"}, 1, "", "not less than the VM's memory"},
		{[]string{"stats", s, "bal"}, 0, "6.0 MiB / 0 B", ""},
		{[]string{"stop", s, "bal"}, 0, "bal: stopped", ""},
		{[]string{"rm", s, "bal"}, 0, "deleted bal", ""},
	}
	runSteps(t, steps)

	// popek console with a pipe: typed bytes reach the guest, Ctrl-A X detaches.
	con := openConsole(s, "cli")
	con.typeAndWait(t, "from-a-pipe", ">from-a-pipe")
	con.detach(t)

	for _, st := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"stop", s, "cli"}, 0, "cli: stopped"},
		{[]string{"events", s, "--since", "0", "--no-follow"}, 0, "cli stopped -> stopped"},
		{[]string{"rm", s, "cli"}, 0, "deleted cli"},
		{[]string{"ls", s, "--json"}, 0, "[]"},
	} {
		if code, o, e := popek(t, nil, st.args...); code != st.code || !strings.Contains(o, st.out) {
			t.Fatalf("popek %v: exit %d, %q %q", st.args, code, o, e)
		}
	}
}

func waitOutput(t *testing.T, b *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", want, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCLIWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"ls"}, {"start", "x"}, {"console", "x"}, {"events"}, {"stats", "x"}} {
		code, _, errOut := popek(t, nil, append(args, "--socket", sock)...)
		if code != 1 || !strings.Contains(errOut, "the popek daemon is not running") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("popek %v without a daemon: exit %d, %q", args, code, errOut)
		}
	}
	t.Setenv("POPEK_SOCKET", sock)
	if _, _, errOut := popek(t, nil, "ls"); !strings.Contains(errOut, sock) {
		t.Errorf("POPEK_SOCKET ignored: %q", errOut)
	}
}

func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("tiny\n"), 0o600)
	cases := []struct {
		opts serveOptions
		want string
	}{
		{serveOptions{stateDir: dir, listen: "127.0.0.1:0", logFormat: "text"}, "--listen needs --token-file"},
		{serveOptions{stateDir: dir, listen: "127.0.0.1:0", tokenFile: short, logFormat: "text"}, "at least 16 characters"},
		{serveOptions{stateDir: dir, logFormat: "xml"}, "--log-format"},
		{serveOptions{stateDir: dir, cpus: -1, logFormat: "text"}, "--cpus"},
	}
	for _, c := range cases {
		err := serve(context.Background(), &c.opts, false, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve(%+v) = %v, want %q", c.opts, err, c.want)
		}
	}
}

// TestServeRestartKeepsDefinitions restarts the daemon on the same state
// directory: the VM comes back defined and stopped.
func TestServeRestartKeepsDefinitions(t *testing.T) {
	state := t.TempDir()
	guests := t.TempDir()
	p, _ := testguest.Write(guests, "idle", testguest.Idle)
	doc := filepath.Join(guests, "vm.json")
	os.WriteFile(doc, []byte(fmt.Sprintf(`{"name": "keep", "kernel": %q, "bios": "none", "memory": "16M"}`, p)), 0o644)
	first := startDaemon(t, state)
	if code, _, e := popek(t, nil, "create", "--socket", first.socket, "-f", doc, "--start"); code != 0 {
		t.Fatal(e)
	}
	first.stop()
	if !strings.Contains(first.logs.String(), `msg="vm stopped" vm=keep exit="daemon shut down"`) {
		t.Errorf("shutdown did not stop the VM:\n%s", first.logs)
	}
	sock := startDaemon(t, state).socket
	code, out, _ := popek(t, nil, "ls", "--socket", sock)
	if code != 0 || !strings.Contains(out, "keep  stopped") {
		t.Fatalf("after restart: %q", out)
	}
}

// TestServeTCP serves the API on TCP too: clients need the token.
func TestServeTCP(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("a-long-enough-secret-token\n"), 0o600)
	wrongFile := filepath.Join(dir, "wrong")
	os.WriteFile(wrongFile, []byte("another-long-secret-token\n"), 0o600)
	sockDir, _ := os.MkdirTemp("", "pktcp")
	defer os.RemoveAll(sockDir)
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, &serveOptions{stateDir: dir, socket: filepath.Join(sockDir, "s.sock"),
			listen: "127.0.0.1:0", tokenFile: tokenFile, logFormat: "text"}, true, logs)
	}()
	defer func() { cancel(); <-done }()
	var addr string
	deadline := time.Now().Add(time.Minute)
	for addr == "" {
		if _, rest, ok := strings.Cut(logs.String(), "listening on TCP\" addr="); ok {
			addr = strings.Fields(rest)[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TCP address in logs:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, out, e := popek(t, nil, "ls", "--connect", addr, "--token-file", tokenFile); code != 0 || !strings.Contains(out, "NAME") {
		t.Fatalf("ls over TCP: %d %q %q", code, out, e)
	}
	if code, _, e := popek(t, nil, "ls", "--connect", addr, "--token-file", wrongFile); code != 1 || !strings.Contains(e, "bearer token") {
		t.Fatalf("wrong token: %d %q", code, e)
	}
	if code, _, e := popek(t, nil, "ls", "--connect", addr); code != 1 || !strings.Contains(e, "--connect needs --token-file") {
		t.Fatalf("no token: %d %q", code, e)
	}
}
