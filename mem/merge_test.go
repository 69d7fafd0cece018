package mem

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vmFlags returns the VmFlags of the mapping holding addr, from
// /proc/self/smaps ("mg" marks MADV_MERGEABLE).
func vmFlags(t *testing.T, addr uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inside := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(strings.Fields(line)[0], "-") {
			inside = addr >= lo && addr < hi
			continue
		}
		if inside && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil
}

func mergeable(t *testing.T, r *RAM, paddr uint64) bool {
	t.Helper()
	for _, f := range vmFlags(t, uintptr(r.Ptr(paddr))) {
		if f == "mg" {
			return true
		}
	}
	return false
}

func needKSM(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/ksm"); err != nil {
		t.Skip("host kernel without KSM")
	}
}

// TestMergeable: guest RAM is offered to KSM from the start, can be
// withdrawn, and ranges remapped later (balloon discards of file-backed
// RAM, incremental snapshot layers) are offered again.
func TestMergeable(t *testing.T) {
	needKSM(t)
	r, err := New(0x80000000, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Mergeable() || !mergeable(t, r, 0x80000000) {
		t.Fatal("new RAM is not mergeable")
	}
	if err := r.SetMergeable(false); err != nil {
		t.Fatal(err)
	}
	if r.Mergeable() || mergeable(t, r, 0x80000000) {
		t.Fatal("SetMergeable(false) left the RAM mergeable")
	}

	path := filepath.Join(t.TempDir(), "mem")
	if err := os.WriteFile(path, make([]byte, 64<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := NewFromFile(0x80000000, f, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	if !mergeable(t, fr, 0x80000000) {
		t.Fatal("file-backed RAM is not mergeable")
	}
	const at = 0x80000000 + 8<<20
	if err := fr.Discard(at, 1<<20); err != nil {
		t.Fatal(err)
	}
	if !mergeable(t, fr, at) {
		t.Error("a discarded (remapped) range lost mergeability")
	}
	if err := fr.MapFile(at+4<<20, f, 0, 1<<20); err != nil {
		t.Fatal(err)
	}
	if !mergeable(t, fr, at+4<<20) {
		t.Error("a range mapped from a file lost mergeability")
	}
}
