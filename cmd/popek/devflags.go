package main

import (
	"fmt"
	"os"
)

// deviceFlag is one --drive, --net or --share value. All three append to
// one list so that devices take virtio slots in command-line order, as
// QEMU users expect, whatever mix of flags they use.
type deviceFlag struct {
	flag, value string
}

// deviceFlags is the pflag.Value of one of those flags.
type deviceFlags struct {
	flag string
	list *[]deviceFlag
}

func (d deviceFlags) String() string { return "" }
func (d deviceFlags) Type() string   { return "spec" }
func (d deviceFlags) Set(v string) error {
	*d.list = append(*d.list, deviceFlag{flag: d.flag, value: v})
	return nil
}

// deviceSpec is a parsed device flag: exactly one field is set.
type deviceSpec struct {
	drive *driveSpec
	net   *netSpec
	share *shareSpec
}

// parseDeviceFlag parses and checks one device flag against the host.
func parseDeviceFlag(df deviceFlag) (deviceSpec, error) {
	switch df.flag {
	case "drive":
		spec, err := parseDrive(df.value)
		if err != nil {
			return deviceSpec{}, err
		}
		if _, err := os.Stat(spec.File); err != nil {
			return deviceSpec{}, fmt.Errorf("--drive: %v", err)
		}
		return deviceSpec{drive: &spec}, nil
	case "net":
		spec, err := parseNet(df.value)
		if err != nil {
			return deviceSpec{}, err
		}
		return deviceSpec{net: &spec}, nil
	case "share":
		spec, err := parseShare(df.value)
		if err != nil {
			return deviceSpec{}, err
		}
		fi, err := os.Stat(spec.Path)
		if err != nil {
			return deviceSpec{}, fmt.Errorf("--share: %v", err)
		}
		if !fi.IsDir() {
			return deviceSpec{}, fmt.Errorf("--share: %s is not a directory", spec.Path)
		}
		return deviceSpec{share: &spec}, nil
	}
	return deviceSpec{}, fmt.Errorf("unknown device flag --%s", df.flag)
}
