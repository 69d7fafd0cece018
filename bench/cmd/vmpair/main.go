// Command vmpair measures VM-to-VM TCP throughput: two guests on one host
// share an L2 segment, guest B sends -mib MiB of zeros with busybox nc to a
// listener on guest A, and the host times it from typing the command until
// both shells are back at the prompt. It prints one line per run:
//
//	VMPAIR popek 1 MiB=32 seconds=3.210 MBps=10.45
//
// -vmm popek runs both guests in this process on a popek virtual switch
// (vswitch + virtio-net, as the daemon's `nets: [{switch: NAME}]` does).
// -vmm qemu runs two qemu-system-riscv64 processes joined by QEMU's
// `-netdev socket` (listen/connect), QEMU's way of connecting two VMs on
// one host without root. Both boot the same kernel and initramfs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/smptest"
	"github.com/popek-vm/popek/vswitch"
)

// guest is a booted VM whose serial console the benchmark drives.
type guest struct {
	name  string
	con   *smptest.Console
	typ   func(string) error
	close func()
}

func (g *guest) wait(ctx context.Context, s string, from int) (int, error) {
	_, next, err := g.con.WaitFor(ctx, s, from)
	if err != nil {
		return next, fmt.Errorf("%s: %v\n--- console tail:\n%s", g.name, err, tail(g.con.String(), 2000))
	}
	return next, nil
}

// shell types cmd at the showing prompt and waits for the next one.
func (g *guest) shell(ctx context.Context, cmd string) error {
	from := g.con.Len()
	if err := g.typ(cmd + "\n"); err != nil {
		return err
	}
	_, err := g.wait(ctx, images.Prompt, from)
	return err
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func main() {
	vmm := flag.String("vmm", "popek", "popek or qemu")
	mib := flag.Int("mib", 32, "MiB per run")
	runs := flag.Int("runs", 3, "transfers (the guests boot once)")
	kernel := flag.String("kernel", "", "raw kernel Image for QEMU (popek uses the embedded one)")
	initrd := flag.String("initrd", "", "initramfs for QEMU (popek uses the embedded one)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on the whole benchmark")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var a, b *guest
	var err error
	switch *vmm {
	case "popek":
		a, b, err = popekPair()
	case "qemu":
		if *kernel == "" || *initrd == "" {
			err = errors.New("-vmm qemu needs -kernel and -initrd")
		} else {
			a, b, err = qemuPair(*kernel, *initrd)
		}
	default:
		err = fmt.Errorf("-vmm %q: want popek or qemu", *vmm)
	}
	if err != nil {
		fatal(err)
	}
	defer a.close()
	defer b.close()
	if err := measure(ctx, *vmm, a, b, *mib, *runs); err != nil {
		fatal(err)
	}
}

// measure configures 192.168.77.1 (A) and .2 (B) and runs the transfers.
func measure(ctx context.Context, label string, a, b *guest, mib, runs int) error {
	for i, g := range []*guest{a, b} {
		if _, err := g.wait(ctx, images.Prompt, 0); err != nil {
			return err
		}
		if err := g.shell(ctx, fmt.Sprintf("ip addr add 192.168.77.%d/24 dev eth0 && ip link set eth0 up", i+1)); err != nil {
			return err
		}
	}
	// The first ping also settles ARP before anything is timed.
	if err := b.shell(ctx, "ping -c 2 192.168.77.1"); err != nil {
		return err
	}
	for run := 1; run <= runs; run++ {
		port := 5000 + run
		fromA := a.con.Len()
		if err := a.typ(fmt.Sprintf("nc -l -p %d > /dev/null\n", port)); err != nil {
			return err
		}
		// Give the listener time to bind before B connects: nc offers no
		// readiness line, and a refused connect would spoil the run.
		time.Sleep(time.Second)
		fromB := b.con.Len()
		start := time.Now()
		if err := b.typ(fmt.Sprintf("dd if=/dev/zero bs=1M count=%d 2>/dev/null | nc 192.168.77.1 %d\n", mib, port)); err != nil {
			return err
		}
		if _, err := b.wait(ctx, images.Prompt, fromB); err != nil {
			return err
		}
		if _, err := a.wait(ctx, images.Prompt, fromA); err != nil {
			return err
		}
		secs := time.Since(start).Seconds()
		if out := b.con.String()[fromB:]; strings.Contains(out, "refused") || strings.Contains(out, "can't connect") {
			return fmt.Errorf("run %d: B could not connect:\n%s", run, out)
		}
		fmt.Printf("VMPAIR %s %d MiB=%d seconds=%.3f MBps=%.2f\n", label, run, mib, secs, float64(mib<<20)/secs/1e6)
	}
	return nil
}

// popekPair boots two single-hart guests on one popek virtual switch.
func popekPair() (*guest, *guest, error) {
	switches := vswitch.NewRegistry(vswitch.Options{})
	boot := func(name string) (*guest, error) {
		port, err := switches.Connect("lan")
		if err != nil {
			return nil, err
		}
		nic, err := virtio.NewNet(virtio.NetConfig{MAC: virtio.DeriveMAC(name + "/0"), Backend: port})
		if err != nil {
			return nil, err
		}
		cfg := smptest.LinuxConfig(1, nil)
		cfg.Devices = []virtio.Device{nic}
		g, err := smptest.Start(cfg)
		if err != nil {
			nic.Close()
			return nil, err
		}
		return &guest{name: name, con: g.Console, typ: g.Type, close: func() { g.Close() }}, nil
	}
	a, err := boot("vm-a")
	if err != nil {
		return nil, nil, err
	}
	b, err := boot("vm-b")
	if err != nil {
		a.close()
		return nil, nil, err
	}
	return a, b, nil
}

// qemuPair starts two QEMU processes joined by a socket netdev.
func qemuPair(kernel, initrd string) (*guest, *guest, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // QEMU listens on it itself
	start := func(name, netdev, mac string) (*guest, error) {
		cmd := exec.Command("qemu-system-riscv64", "-M", "virt", "-nographic", "-bios", "default",
			"-m", "256M", "-smp", "1", "-kernel", kernel, "-initrd", initrd, "-append", images.DefaultCmdline,
			"-netdev", "socket,id=n0,"+netdev, "-device", "virtio-net-device,netdev=n0,mac="+mac)
		con := smptest.NewConsole()
		cmd.Stdout, cmd.Stderr = con, con
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		go func() { cmd.Wait(); con.Close() }()
		return &guest{name: name, con: con,
			typ:   func(s string) error { _, err := io.WriteString(stdin, s); return err },
			close: func() { cmd.Process.Kill() }}, nil
	}
	a, err := start("qemu-a", fmt.Sprintf("listen=127.0.0.1:%d", port), "52:54:00:12:34:01")
	if err != nil {
		return nil, nil, err
	}
	// The connecting side fails at once if nobody listens yet; QEMU sets
	// up its netdevs before the firmware prints anything.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.wait(ctx, "OpenSBI", 0); err != nil {
		a.close()
		return nil, nil, err
	}
	b, err := start("qemu-b", fmt.Sprintf("connect=127.0.0.1:%d", port), "52:54:00:12:34:02")
	if err != nil {
		a.close()
		return nil, nil, err
	}
	return a, b, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "vmpair:", err)
	os.Exit(1)
}
