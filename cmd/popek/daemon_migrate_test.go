package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/vmm/testguest"
)

// startTCPDaemon is startDaemon that also serves TCP with a bearer token;
// it returns the daemon, its TCP address and the token file.
func startTCPDaemon(t *testing.T, stateDir string) (*daemon, string, string) {
	t.Helper()
	dir := tempSocketDir(t, "pkmig")
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("migration-test-token-0123\n"), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	d := launchDaemon(t, dir, serveOptions{stateDir: stateDir, listen: addr, tokenFile: tokFile}, func(d *daemon) bool {
		return strings.Contains(d.logs.String(), "listening on TCP")
	})
	return d, addr, tokFile
}

// TestDaemonMigrateCLI moves a VM between two real daemons with popek
// migrate: over TCP with a token, back over the Unix socket, and a
// refusal when the name is taken; the console works on the target.
func TestDaemonMigrateCLI(t *testing.T) {
	a := startDaemon(t, t.TempDir())
	b, addr, tok := startTCPDaemon(t, t.TempDir())
	guests := t.TempDir()
	testguest.Write(guests, "echo", testguest.Echo)
	doc := filepath.Join(guests, "vm.yaml")
	os.WriteFile(doc, []byte("name: mig\nkernel: echo.elf\nbios: none\nmemory: 16M\nrng: false\n"), 0o644)
	sa, sb := "--socket="+a.socket, "--socket="+b.socket
	steps := []cliStep{
		{[]string{"create", sa, "-f", doc, "--start"}, 0, "started mig", ""},
		{[]string{"migrate", sa, "mig"}, 1, "", "give the target daemon as --to HOST:PORT"},
		{[]string{"migrate", sa, "mig", "--to", addr}, 1, "", "--to needs --token-file"},
		{[]string{"migrate", sa, "ghost", "--to-socket", b.socket}, 1, "", `no VM named "ghost"`},
		{[]string{"migrate", sa, "mig", "--to", addr, "--token-file", tok}, 0, "migrated mig to " + addr + ": running there", ""},
		{[]string{"ls", sa}, 0, "NAME", ""},
		{[]string{"ls", sb}, 0, "mig   running", ""},
		{[]string{"migrate", sb, "mig", "--to-socket", a.socket, "--json"}, 0, `"downtime_seconds"`, ""},
		{[]string{"create", sb, "-f", doc}, 0, "created mig", ""},
		{[]string{"migrate", sa, "mig", "--to-socket", b.socket}, 1, "", `a VM named "mig" already exists`},
		{[]string{"ls", sa}, 0, "mig   running", ""},
	}
	for _, st := range steps {
		code, out, errOut := popek(t, nil, st.args...)
		if code != st.code || !strings.Contains(out, st.out) || !strings.Contains(errOut, st.err) {
			t.Fatalf("popek %v: exit %d, stdout %q, stderr %q; want %d, %q, %q", st.args, code, out, errOut, st.code, st.out, st.err)
		}
		if st.args[0] == "migrate" && st.code == 0 && !strings.Contains(out, "downtime") {
			t.Errorf("popek %v: no timing in %q", st.args, out)
		}
		if st.args[0] == "ls" && st.args[1] == sa && st.out == "NAME" && strings.Contains(out, "mig") {
			t.Errorf("the source still lists the VM: %q", out)
		}
	}
	// The guest that went there and back still echoes.
	con := openConsole(sa, "mig")
	con.typeAndWait(t, "round-trip", "round-trip")
	con.detach(t)
}
