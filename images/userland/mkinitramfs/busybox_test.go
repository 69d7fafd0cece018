package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/mkuimage/cpio"
)

func TestParseApplets(t *testing.T) {
	tests := []struct {
		name, list string
		want       []string // nil: an error is expected
	}{
		{"sorted and deduplicated", "vi\nawk\n\nvi\n  mkfs.ext2 \n", []string{"awk", "mkfs.ext2", "vi"}},
		{"bracket applets", "[\n[[\ntest\n", []string{"[", "[[", "test"}},
		{"empty", "\n\n", nil},
		{"path escapes the link dir", "../bin/sh\n", nil},
		{"subdirectory", "usr/awk\n", nil},
		{"dot dot", "..\n", nil},
		{"option-like", "-rf\n", nil},
		{"space inside", "mk fs\n", nil},
	}
	for _, tt := range tests {
		got, err := parseApplets(tt.list)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: got %q, want an error", tt.name, got)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBusyboxRecords(t *testing.T) {
	dir := t.TempDir()
	elf := writeTemp(t, dir, "busybox", "\x7fELF pretend")
	recs, err := busyboxRecords(elf, writeTemp(t, dir, "applets", "udhcpc\nmke2fs\n"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cpio.Record{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	tests := []struct {
		name    string
		mode    uint64
		content string
	}{
		{busyboxBinary, cpio.S_IFREG | 0o755, "\x7fELF pretend"},
		{busyboxLinkDir, cpio.S_IFDIR | 0o755, ""},
		{"busybox-bin/mke2fs", cpio.S_IFLNK | 0o777, "../bin/busybox"},
		{"busybox-bin/udhcpc", cpio.S_IFLNK | 0o777, "../bin/busybox"},
		{udhcpcScript, cpio.S_IFREG | 0o755, udhcpcDefaultScript},
	}
	for _, tt := range tests {
		r, ok := byName[tt.name]
		if !ok {
			t.Errorf("%s missing", tt.name)
			continue
		}
		if r.Mode != tt.mode {
			t.Errorf("%s: mode %o, want %o", tt.name, r.Mode, tt.mode)
		}
		if got := readAll(t, r); got != tt.content {
			t.Errorf("%s: content %q, want %q", tt.name, got, tt.content)
		}
	}
	if !strings.HasPrefix(udhcpcDefaultScript, "#!/bin/sh\n") {
		t.Error("udhcpc script has no #!/bin/sh line")
	}

	// Without udhcpc there is no script for it.
	recs, err = busyboxRecords(elf, writeTemp(t, dir, "applets2", "vi\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == udhcpcScript {
			t.Error("udhcpc script added without the udhcpc applet")
		}
	}
}

func TestBusyboxRecordsRejectBadInput(t *testing.T) {
	dir := t.TempDir()
	elf := writeTemp(t, dir, "busybox", "\x7fELF pretend")
	applets := writeTemp(t, dir, "applets", "vi\n")
	tests := []struct{ name, binary, applets string }{
		{"missing binary", filepath.Join(dir, "nope"), applets},
		{"not ELF", writeTemp(t, dir, "script", "#!/bin/sh\n"), applets},
		{"missing applet list", elf, filepath.Join(dir, "nope")},
		{"bad applet list", elf, writeTemp(t, dir, "bad", "../../etc/passwd\n")},
	}
	for _, tt := range tests {
		if _, err := busyboxRecords(tt.binary, tt.applets); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
