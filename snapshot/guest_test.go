package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
)

// hashChain is what the guest loop below computes: h = "popek", then
// rounds times h = `echo "$h$i" | shasum -a 256` (hex, a space, "-").
// kernelLog matches kernel console messages, which may interleave with
// the loop's dots (and have dots of their own).
var kernelLog = regexp.MustCompile(`\[ *[0-9]+\.[0-9]+\][^\n]*`)

func hashChain(rounds int) string {
	h := "popek"
	for i := 1; i <= rounds; i++ {
		sum := sha256.Sum256([]byte(h + strconv.Itoa(i) + "\n"))
		h = hex.EncodeToString(sum[:]) + " -"
	}
	return h
}

// chainLoop is a shell loop that prints a dot per round and then the
// result; its state lives in the shell's memory and in the processes it
// forks, so a snapshot in the middle captures all of it.
func chainLoop(rounds int) string {
	return fmt.Sprintf(`h=popek; for i in $(seq 1 %d); do h=$(echo "$h$i" | shasum -a 256); echo -n .; done; echo; echo "RESULT $h"`, rounds)
}

// TestSnapshotMidComputation snapshots a two-hart guest in the middle of a
// long computation while it keeps running, then restores the snapshot
// into a new machine: both print the result an uninterrupted computation
// gives (worked out on the host), and the restored console keeps working.
func TestSnapshotMidComputation(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	const rounds = 30
	want := "RESULT " + hashChain(rounds)
	dir := t.TempDir()
	log := newConsoleLog()
	v := bootGuest(t, guestConfig(2, 128<<20, log, virtio.NewRNG()))
	v.send(chainLoop(rounds) + "\n")
	v.expect("..........") // a third of the way

	snap, err := Write(filepath.Join(dir, "snap"), v.m, WriteOptions{Name: "mid-computation"})
	if err != nil {
		t.Fatal(err)
	}
	dotsAtSnapshot := strings.Count(log.String()[v.mark-10:], ".")
	t.Logf("snapshot: paused %v, total %v, %d MiB memory stored, %d MiB on disk",
		snap.Written.Paused.Round(time.Millisecond), snap.Written.Total.Round(time.Millisecond),
		snap.Written.MemoryBytes>>20, snap.Written.Allocated>>20)

	// The original was only paused: it finishes the computation.
	if got := strings.TrimSpace(v.expect("\n" + "popek#")); !strings.HasSuffix(got, want) {
		t.Fatalf("original guest printed %q, want %q", got, want)
	}
	v.m.Close()

	opened, err := Open(snap.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("open with full verification: %v", opened.VerifyTime.Round(time.Microsecond))
	r := restoreVM(t, opened, RestoreOptions{})
	out := kernelLog.ReplaceAllString(r.expect(want), "")
	// The restored guest resumes mid-loop: it prints only the remaining
	// dots (and possibly the last ones the original printed before the
	// pause took effect), never the rounds before the snapshot again.
	if n := strings.Count(out, "."); n < rounds-dotsAtSnapshot-1 || n > rounds-10 {
		t.Errorf("restored guest printed %d dots after the snapshot (snapshot at about %d of %d)", n, dotsAtSnapshot, rounds)
	}
	r.expect("popek# ")
	if got := r.run("echo restored-$((6*7))"); got != "restored-42" {
		t.Errorf("command after restore printed %q", got)
	}
	if got := r.run("cat /proc/cpuinfo | grep -c processor"); got != "2" {
		t.Errorf("restored guest sees %q harts", got)
	}
}
