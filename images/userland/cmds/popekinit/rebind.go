package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// sysfs finds a network interface's virtio device and rebinds its driver.
// root is /sys, or a fake tree in tests.
type sysfs struct{ root string }

const virtioNetDriver = "virtio_net"

// virtioDevice is the virtio device (virtioN) behind interface name, or
// "" when it is not driven by virtio_net.
func (s sysfs) virtioDevice(name string) (string, error) {
	dev := filepath.Join(s.root, "class/net", name, "device")
	drv, err := os.Readlink(filepath.Join(dev, "driver"))
	if os.IsNotExist(err) {
		return "", nil // a virtual interface (lo, bridges)
	}
	if err != nil {
		return "", err
	}
	if filepath.Base(drv) != virtioNetDriver {
		return "", nil
	}
	target, err := os.Readlink(dev)
	if err != nil {
		return "", err
	}
	v := filepath.Base(target)
	if !strings.HasPrefix(v, "virtio") {
		return "", fmt.Errorf("%s: device %s is not a virtio device", name, target)
	}
	return v, nil
}

// rebind unbinds and binds virtio_net from dev, so the driver probes the
// device afresh and reads its MAC again. The writes are synchronous: when
// bind returns, the new interface exists.
func (s sysfs) rebind(dev string) error {
	drv := filepath.Join(s.root, "bus/virtio/drivers", virtioNetDriver)
	for _, op := range []string{"unbind", "bind"} {
		if err := writeFile(filepath.Join(drv, op), dev); err != nil {
			return fmt.Errorf("%s %s: %w", op, dev, err)
		}
	}
	return nil
}

// writeFile writes an existing sysfs attribute, never creating one.
func writeFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// netdev is the interface virtio device dev carries.
func (s sysfs) netdev(dev string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "bus/virtio/devices", dev, "net"))
	if err != nil {
		return "", fmt.Errorf("%s has no network interface: %w", dev, err)
	}
	if len(ents) != 1 {
		return "", fmt.Errorf("%s has %d network interfaces", dev, len(ents))
	}
	return ents[0].Name(), nil
}

// mac is the interface's address as the kernel prints it.
func (s sysfs) mac(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.root, "class/net", name, "address"))
	return strings.TrimSpace(string(b)), err
}
