package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/u-root/mkuimage/cpio"
)

// BusyBox (built by images/build.sh from Debian's source package) is
// /bin/busybox, with a link per applet in busyboxLinkDir. popekinit puts that
// directory last on PATH, so u-root's commands in /bbin keep their names and
// BusyBox fills the gaps (mke2fs, vi, awk, ...).
const (
	busyboxBinary  = "bin/busybox"
	busyboxLinkDir = "busybox-bin"
	udhcpcScript   = "usr/share/udhcpc/default.script"
)

// udhcpcDefaultScript is what `udhcpc -i eth0` runs to apply a lease.
//
//go:embed udhcpc.script
var udhcpcDefaultScript string

// busyboxRecords reads the static BusyBox binary and its applet list (one
// name a line, as build.sh writes it) and returns the archive records for
// both, plus udhcpc's default script when udhcpc is an applet.
func busyboxRecords(binary, appletList string) ([]cpio.Record, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return nil, fmt.Errorf("%s: not an ELF binary", binary)
	}
	list, err := os.ReadFile(appletList)
	if err != nil {
		return nil, err
	}
	applets, err := parseApplets(string(list))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", appletList, err)
	}
	recs := []cpio.Record{
		cpio.StaticFile(busyboxBinary, string(bin), 0o755),
		cpio.Directory(busyboxLinkDir, 0o755),
	}
	target := path.Join("..", busyboxBinary)
	hasUdhcpc := false
	for _, a := range applets {
		recs = append(recs, cpio.Symlink(path.Join(busyboxLinkDir, a), target))
		hasUdhcpc = hasUdhcpc || a == "udhcpc"
	}
	if hasUdhcpc {
		recs = append(recs,
			cpio.Directory("usr/share", 0o755),
			cpio.Directory("usr/share/udhcpc", 0o755),
			cpio.StaticFile(udhcpcScript, udhcpcDefaultScript, 0o755))
	}
	return recs, nil
}

// parseApplets returns the sorted, de-duplicated applet names, rejecting
// anything that is not a plain file name (a link must stay in its directory).
func parseApplets(list string) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for i, line := range strings.Split(list, "\n") {
		name := strings.TrimSpace(line)
		if name == "" {
			continue
		}
		if !validAppletName(name) {
			return nil, fmt.Errorf("line %d: bad applet name %q", i+1, name)
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no applets")
	}
	sort.Strings(names)
	return names, nil
}

func validAppletName(name string) bool {
	if name == "." || name == ".." || strings.HasPrefix(name, "-") {
		return false
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '+' || c == '['
		if !ok {
			return false
		}
	}
	return true
}
