package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/popek-vm/popek/vmm/testguest"
)

// TestDaemonSnapshotCLI drives snapshots, revert and templates through
// the CLI against a real daemon, with a console attached across a revert.
func TestDaemonSnapshotCLI(t *testing.T) {
	state := t.TempDir()
	s := "--socket=" + startDaemon(t, state).socket
	guests := t.TempDir()
	if _, err := testguest.Write(guests, "echo", testguest.Echo); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(guests, "disk.img"), make([]byte, 1<<20), 0o644)
	doc := filepath.Join(guests, "vm.yaml")
	os.WriteFile(doc, []byte("name: sv\nkernel: echo.elf\nbios: none\nmemory: 16M\nrng: false\ndrives:\n  - file: disk.img\n"), 0o644)

	type step = cliStep
	run := func(steps []step) { t.Helper(); runSteps(t, steps) }
	run([]step{
		{[]string{"create", s, "-f", doc}, 0, "created sv", ""},
		{[]string{"snapshot", "create", s, "sv", "s1"}, 1, "", `cannot snapshot VM "sv": it is stopped`},
		{[]string{"start", s, "sv"}, 0, "sv: running", ""},
		{[]string{"snapshot", "create", s, "sv", "s1"}, 0, "snapshot s1 of sv: full, guest paused", ""},
		{[]string{"snapshot", "create", s, "sv", "s1"}, 1, "", `VM "sv" already has a snapshot named "s1"`},
		{[]string{"snapshot", "create", s, "ghost", "s1"}, 1, "", `no VM named "ghost"`},
		{[]string{"snapshot", "create", s, "sv", "s2", "--incremental"}, 0, "incremental on s1", ""},
		{[]string{"snapshot", "ls", s, "sv"}, 0, "s2 *", ""},
		{[]string{"snapshot", "ls", s, "sv", "--json"}, 0, `"parent": "s1"`, ""},
		{[]string{"snapshot", "ls", s, "ghost"}, 1, "", "no VM"},
		{[]string{"snapshot", "inspect", filepath.Join(state, "snapshots", "sv", "s2")}, 0, "all checksums verified", ""},
	})

	// A console attached across a revert keeps working.
	con := openConsole(s, "sv")
	con.typeAndWait(t, "before-revert", "before-revert")
	run([]step{{[]string{"snapshot", "revert", s, "sv", "s1"}, 0, "sv: reverted to s1, running", ""}})
	con.typeAndWait(t, "after-revert", "after-revert")
	if errOut := con.detach(t); strings.Contains(errOut, "stopped") {
		t.Fatalf("the console saw the VM stop across the revert: %s", errOut)
	}

	run([]step{
		{[]string{"snapshot", "revert", s, "sv", "nope"}, 1, "", `VM "sv" has no snapshot "nope"`},
		{[]string{"snapshot", "rm", s, "sv", "s1"}, 0, "deleted snapshot s1 of sv", ""},
		{[]string{"snapshot", "ls", s, "sv"}, 0, "s2", ""},
		{[]string{"template", "create", s, "tt"}, 1, "", "--vm NAME is required"},
		{[]string{"template", "create", s, "tt", "--vm", "sv"}, 0, "template tt from sv", ""},
		{[]string{"template", "create", s, "tt2", "--vm", "sv", "--snapshot", "s2"}, 0, "template tt2 from sv snapshot s2", ""},
		{[]string{"template", "ls", s}, 0, "tt2", ""},
		{[]string{"create", s, "--template", "tt", "c1", "--start"}, 0, "created c1\nstarted c1", ""},
		{[]string{"create", s, "--template", "nope", "c2"}, 1, "", `no template named "nope"`},
		{[]string{"inspect", s, "c1"}, 0, `"template": "tt"`, ""},
		{[]string{"template", "ls", s}, 0, "c1", ""},
		{[]string{"template", "rm", s, "tt"}, 1, "", `template "tt" is in use by VM(s) c1`},
		{[]string{"rm", s, "--force", "c1"}, 0, "deleted c1", ""},
		{[]string{"template", "rm", s, "tt", "tt2"}, 0, "deleted template tt2", ""},
		{[]string{"template", "rm", s, "tt"}, 1, "", "no template"},
		{[]string{"rm", s, "--force", "sv"}, 0, "deleted sv", ""},
	})
	if _, err := os.Stat(filepath.Join(state, "snapshots", "sv")); !os.IsNotExist(err) {
		t.Fatalf("the deleted VM's snapshots are still there: %v", err)
	}
}
