package vmm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckHostQcow2 refuses a writable qcow2 drive up front and accepts
// it read-only or under an overlay; the magic is what makes it qcow2.
func TestCheckHostQcow2(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "d.qcow2")
	raw := filepath.Join(dir, "d.img")
	os.WriteFile(q, append([]byte("QFI\xfb"), make([]byte, 508)...), 0o644)
	os.WriteFile(raw, make([]byte, 512), 0o644)
	cases := []struct {
		name  string
		drive DriveConfig
		want  string
	}{
		{"writable qcow2", DriveConfig{File: q}, "drives[0].file: " + q + " is a qcow2 image, which popek only reads: set overlay: PATH"},
		{"read-only qcow2", DriveConfig{File: q, ReadOnly: true}, ""},
		{"qcow2 under an overlay", DriveConfig{File: q, Overlay: filepath.Join(dir, "o.ovl")}, ""},
		{"writable raw", DriveConfig{File: raw}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := (&Config{Drives: []DriveConfig{c.drive}}).CheckHost()
			switch {
			case c.want == "" && err != nil:
				t.Fatal(err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
