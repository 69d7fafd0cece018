package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunQcow2DriveErrors checks the one-line refusals of qcow2 drives
// popek run cannot serve; they fail before the machine is built.
func TestRunQcow2DriveErrors(t *testing.T) {
	qimg, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img (qemu-utils) not installed")
	}
	dir := t.TempDir()
	img, enc := filepath.Join(dir, "d.qcow2"), filepath.Join(dir, "enc.qcow2")
	for _, p := range []string{img, enc} {
		if out, err := exec.Command(qimg, "create", "-f", "qcow2", p, "1M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img: %v\n%s", err, out)
		}
	}
	// crypt_method 2 (LUKS) in the header is what makes an image encrypted
	// for popek; real LUKS key setup would only slow the test.
	f, err := os.OpenFile(enc, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte{0, 0, 0, 2}, 32)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, drive, want string
	}{
		{"writable qcow2", "file=" + img, "add overlay=PATH (a copy-on-write file that takes the guest's writes) or readonly=on"},
		{"format mismatch", "file=" + img + ",format=raw,readonly=on", "format=raw, but the file is a qcow2 image"},
		{"encrypted", "file=" + enc + ",readonly=on", "encrypted image (LUKS)"},
		{"encrypted base of an overlay", "file=" + enc + ",overlay=" + filepath.Join(dir, "o.ovl"), "encrypted image (LUKS)"},
	}
	for _, tc := range tests {
		code, _, errOut := popek(t, nil, "run", "--drive", tc.drive)
		if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want one line containing %q", tc.name, code, errOut, tc.want)
		}
	}
}
