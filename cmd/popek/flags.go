package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/popek-vm/popek/netstack"
)

// parseMemSize parses a QEMU-style size: a number with an optional K, M,
// G or T suffix (binary units; "MB" and "MiB" spellings too). A bare number
// means MiB, as in QEMU's -m.
func parseMemSize(s string) (uint64, error) {
	bad := fmt.Errorf("bad memory size %q: want a positive number with an optional K, M or G suffix, e.g. 256M", s)
	t := strings.ToUpper(strings.TrimSpace(s))
	if u, ok := strings.CutSuffix(t, "IB"); ok {
		t = u
	} else if u, ok := strings.CutSuffix(t, "B"); ok {
		t = u
	}
	shift := 20
	if t != "" {
		if i := strings.IndexByte("KMGT", t[len(t)-1]); i >= 0 {
			shift = 10 * (i + 1)
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 {
		return 0, bad
	}
	if n > (1<<40)>>shift {
		return 0, fmt.Errorf("memory size %q is larger than 1 TiB", s)
	}
	return n << shift, nil
}

// driveSpec is one --drive: file=PATH[,readonly=on][,serial=ID][,overlay=PATH].
// Format, when given (raw or qcow2), must match what popek detects.
type driveSpec struct {
	File, Serial, Overlay, Format string
	ReadOnly                      bool
}

// parseOptions splits "k=v,k2=v2"; a leading bare word is returned as
// first (for --net user,... style values).
func parseOptions(s string) (first string, opts [][2]string, err error) {
	for i, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			if i == 0 {
				first = part
				continue
			}
			return "", nil, fmt.Errorf("option %q in %q is not key=value", part, s)
		}
		if k == "" {
			return "", nil, fmt.Errorf("empty option name in %q", s)
		}
		opts = append(opts, [2]string{k, v})
	}
	return first, opts, nil
}

func parseOnOff(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "yes", "true", "1":
		return true, nil
	case "off", "no", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want on or off", key, v)
}

func parseDrive(s string) (driveSpec, error) {
	first, opts, err := parseOptions(s)
	if err != nil {
		return driveSpec{}, fmt.Errorf("--drive: %v", err)
	}
	var d driveSpec
	if first != "" {
		d.File = first // QEMU accepts a bare path as the first element too
	}
	for _, kv := range opts {
		switch k, v := kv[0], kv[1]; k {
		case "file":
			d.File = v
		case "readonly":
			if d.ReadOnly, err = parseOnOff(k, v); err != nil {
				return driveSpec{}, fmt.Errorf("--drive: %v", err)
			}
		case "serial":
			d.Serial = v
		case "overlay":
			d.Overlay = v
		case "format":
			// popek detects qcow2 by its magic; format= only checks it.
			if d.Format = strings.ToLower(v); d.Format != "raw" && d.Format != "qcow2" {
				return driveSpec{}, fmt.Errorf("--drive: format=%q: popek reads raw and qcow2 images", v)
			}
		case "if", "media":
			// QEMU spellings with a single meaning here (virtio disk).
		default:
			return driveSpec{}, fmt.Errorf("--drive: unknown option %q (want file, readonly, serial, overlay, format)", k)
		}
	}
	if d.File == "" {
		return driveSpec{}, fmt.Errorf("--drive %q: missing file=PATH", s)
	}
	return d, nil
}

// netSpec is one --net: user[,hostfwd=tcp::HOST-:GUEST...][,mac=...] or
// switch=NAME[,mac=...].
type netSpec struct {
	Mode     string // "user" or "switch"
	Switch   string // the switch's name, mode "switch"
	Forwards []netstack.HostForward
	MAC      net.HardwareAddr // nil: the default for the NIC's index
	Original string
}

func parseNet(s string) (netSpec, error) {
	first, opts, err := parseOptions(s)
	if err != nil {
		return netSpec{}, fmt.Errorf("--net: %v", err)
	}
	n := netSpec{Mode: first, Original: s}
	for _, kv := range opts {
		switch kv[0] {
		case "hostfwd":
			f, err := netstack.ParseHostFwd(kv[1])
			if err != nil {
				return netSpec{}, fmt.Errorf("--net: %v", err)
			}
			n.Forwards = append(n.Forwards, f)
		case "mac":
			mac, err := net.ParseMAC(kv[1])
			if err != nil || len(mac) != 6 || mac[0]&1 != 0 {
				return netSpec{}, fmt.Errorf("--net: mac=%q is not a unicast Ethernet address", kv[1])
			}
			n.MAC = mac
		case "switch":
			if kv[1] == "" {
				return netSpec{}, fmt.Errorf("--net %q: switch= needs a name", s)
			}
			n.Switch = kv[1]
		default:
			return netSpec{}, fmt.Errorf("--net: unknown option %q (want hostfwd, mac, switch)", kv[0])
		}
	}
	switch {
	case n.Mode == "" && n.Switch != "":
		n.Mode = "switch"
	case n.Mode == "":
		n.Mode = "user"
	case n.Mode != "user":
		return netSpec{}, fmt.Errorf("--net %q: unknown network mode %q (want user or switch=NAME)", s, n.Mode)
	}
	if n.Mode == "user" && n.Switch != "" {
		return netSpec{}, fmt.Errorf("--net %q: user and switch= exclude each other", s)
	}
	if n.Mode == "switch" && len(n.Forwards) > 0 {
		return netSpec{}, fmt.Errorf("--net %q: hostfwd needs user networking, not a switch", s)
	}
	return n, nil
}

// shareSpec is one --share HOSTDIR[:TAG][,readonly=on|,ro]: a host
// directory exported to the guest over 9p, mounted by tag.
type shareSpec struct {
	Path, Tag string
	ReadOnly  bool
}

func parseShare(s string) (shareSpec, error) {
	// A bare "ro" after the directory is short for readonly=on.
	parts := strings.Split(s, ",")
	for i := 1; i < len(parts); i++ {
		if parts[i] == "ro" {
			parts[i] = "readonly=on"
		}
	}
	first, opts, err := parseOptions(strings.Join(parts, ","))
	if err != nil {
		return shareSpec{}, fmt.Errorf("--share: %v", err)
	}
	var sh shareSpec
	sh.Path, sh.Tag, _ = strings.Cut(first, ":")
	for _, kv := range opts {
		switch kv[0] {
		case "path":
			sh.Path = kv[1]
		case "tag":
			sh.Tag = kv[1]
		case "readonly":
			if sh.ReadOnly, err = parseOnOff(kv[0], kv[1]); err != nil {
				return shareSpec{}, fmt.Errorf("--share: %v", err)
			}
		default:
			return shareSpec{}, fmt.Errorf("--share: unknown option %q (want path, tag, readonly or ro)", kv[0])
		}
	}
	if sh.Path == "" {
		return shareSpec{}, fmt.Errorf("--share %q: missing host directory", s)
	}
	if sh.Tag == "" {
		sh.Tag = "share"
	}
	return sh, nil
}

// vsockSpec is --vsock cid=N,uds=PATH: a virtio-vsock device with guest
// CID N whose host side is the Unix socket PATH (Firecracker's scheme).
type vsockSpec struct {
	CID uint64
	UDS string
}

func parseVsock(s string) (vsockSpec, error) {
	first, opts, err := parseOptions(s)
	if err != nil {
		return vsockSpec{}, fmt.Errorf("--vsock: %v", err)
	}
	if first != "" {
		return vsockSpec{}, fmt.Errorf("--vsock %q: want cid=N,uds=PATH", s)
	}
	var v vsockSpec
	for _, kv := range opts {
		switch kv[0] {
		case "cid":
			if v.CID, err = strconv.ParseUint(kv[1], 10, 32); err != nil || v.CID < 3 || v.CID >= 0xffffffff {
				return vsockSpec{}, fmt.Errorf("--vsock: cid=%q: want a number from 3 to %d (0-2 are reserved)", kv[1], uint32(0xfffffffe))
			}
		case "uds":
			v.UDS = kv[1]
		default:
			return vsockSpec{}, fmt.Errorf("--vsock: unknown option %q (want cid, uds)", kv[0])
		}
	}
	if v.CID == 0 {
		return vsockSpec{}, fmt.Errorf("--vsock %q: missing cid=N", s)
	}
	if v.UDS == "" {
		return vsockSpec{}, fmt.Errorf("--vsock %q: missing uds=PATH (the host's Unix socket)", s)
	}
	return v, nil
}
