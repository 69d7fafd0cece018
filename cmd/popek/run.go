package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
	"github.com/popek-vm/popek/vswitch"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runOptions are popek run's flags.
type runOptions struct {
	kernel, initrd, cmdline, bios string
	cmdlineSet                    bool
	smp                           int
	memory                        string
	devices                       []deviceFlag // --drive, --net, --share in order
	vsock                         string
	balloon                       string
	virtioConsole                 string // --virtio-console's socket path
	rng, noReboot, memMerge       bool
	mmu                           string
}

func newRunCommand(stdin *os.File, stdout, stderr io.Writer) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Boot a guest (with no flags: the embedded Linux, to a shell)",
		Long: `Boot a guest on the virt board. With no --kernel and no --bios, popek boots
its embedded Linux and initramfs to a shell. The console is the serial port:
press Ctrl-A X to quit, Ctrl-A H for help.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmdlineSet = cmd.Flags().Changed("append")
			return runGuest(&o, stdin, stdout, stderr)
		},
	}
	addRunFlags(cmd.Flags(), &o)
	addSnapshotFlags(cmd, &o, stdin, stdout, stderr)
	return cmd
}

// addRunFlags declares popek run's flags, filling o.
func addRunFlags(f *pflag.FlagSet, o *runOptions) {
	f.StringVar(&o.kernel, "kernel", "", "Linux Image, Image.gz or RISC-V ELF to boot")
	f.StringVar(&o.initrd, "initrd", "", "initial ramdisk (cpio, optionally gzipped)")
	f.StringVar(&o.cmdline, "append", "", "kernel command line")
	f.StringVar(&o.bios, "bios", "", `M-mode firmware (e.g. OpenSBI fw_jump.bin/fw_dynamic.elf), or "none" to run --kernel in M-mode; default: popek is the SBI`)
	f.IntVar(&o.smp, "smp", 1, "number of harts (1..32)")
	f.StringVarP(&o.memory, "memory", "m", "256M", "RAM size, with K, M or G suffix")
	f.Var(deviceFlags{"drive", &o.devices}, "drive", "virtio disk: file=PATH[,readonly=on][,serial=ID][,overlay=PATH][,format=raw|qcow2]; a qcow2 file must be readonly=on or under an overlay (repeatable)")
	f.Var(deviceFlags{"net", &o.devices}, "net", "virtio network: user[,hostfwd=tcp::HOSTPORT-:GUESTPORT][,mac=MAC], or switch=NAME[,mac=MAC] (the host-wide switch NAME, shared with the user's other popek processes) (repeatable)")
	f.Var(deviceFlags{"share", &o.devices}, "share", "share a host directory over 9p: PATH[:TAG][,readonly=on|,ro] (repeatable)")
	f.StringVar(&o.vsock, "vsock", "", "virtio-vsock: cid=N,uds=PATH (N >= 3; the host connects to PATH and sends \"CONNECT <port>\\n\"; guest connections to host port P go to PATH_P)")
	f.BoolVar(&o.rng, "rng", true, "virtio entropy device")
	f.StringVar(&o.balloon, "balloon", "", "virtio memory balloon holding SIZE at boot (e.g. 0, 64M): the guest gives that much memory back to the host; the daemon can resize it at run time")
	f.StringVar(&o.virtioConsole, "virtio-console", "", "virtio console (the guest's /dev/hvc1) on a Unix socket popek listens on at PATH, as QEMU's -chardev socket,server=on,wait=off: one client at a time, output dropped while none is connected")
	f.BoolVar(&o.memMerge, "mem-merge", true, "offer guest RAM to the host's same-page merging (KSM), as QEMU's mem-merge")
	f.BoolVar(&o.noReboot, "no-reboot", false, "exit instead of rebooting when the guest reboots")
	f.StringVar(&o.mmu, "mmu", "sv57", "widest address translation mode offered: sv39, sv48 or sv57")
}

// machineSpec is everything needed to build a fresh machine, once per boot.
type machineSpec struct {
	cfg   board.Config // without Devices
	devs  []deviceSpec // virtio slots 0.. in command-line order
	vsock *vsockSpec   // after devs, before the RNG
	rng   bool
	// balloon is the balloon's size in 4 KiB pages; the device follows
	// the RNG.
	balloon *uint32
	// console is --virtio-console's socket path; the device is last. Its
	// socket (conSock, opened by the first boot) outlives boots, so a
	// client stays connected across guest reboots; close closes it.
	console string
	conSock *virtio.ConsoleSocket
	// switches outlive boots: a rebooted guest rejoins the same segments.
	// They are host-wide (vswitch.DefaultHostDir).
	switches *vswitch.Registry
	macSeed  string // per process, so two popek runs get distinct MACs
}

// buildSpec validates the flags and reads the files they name.
func buildSpec(o *runOptions, console io.Writer) (*machineSpec, error) {
	if o.smp < 1 || o.smp > board.MaxHarts {
		return nil, fmt.Errorf("--smp %d: want 1..%d", o.smp, board.MaxHarts)
	}
	memSize, err := parseMemSize(o.memory)
	if err != nil {
		return nil, fmt.Errorf("--memory: %v", err)
	}
	s := &machineSpec{rng: o.rng, switches: vswitch.NewRegistry(vswitch.Options{HostDir: vswitch.DefaultHostDir()}), macSeed: runMACSeed()}
	s.cfg = board.Config{Harts: o.smp, MemSize: memSize, Cmdline: o.cmdline, Console: console, MMU: o.mmu, NoMemMerge: !o.memMerge}
	read := func(flag, path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--%s: %v", flag, err)
		}
		return b, nil
	}
	switch o.bios {
	case "":
		s.cfg.Boot = board.BootDirect
	case "none":
		s.cfg.Boot = board.BootBare
		if o.kernel == "" {
			return nil, errors.New("--bios none needs --kernel (an ELF to run in M-mode)")
		}
	default:
		s.cfg.Boot = board.BootFirmware
		if s.cfg.Firmware, err = read("bios", o.bios); err != nil {
			return nil, err
		}
	}
	if o.kernel != "" {
		if s.cfg.Kernel, err = read("kernel", o.kernel); err != nil {
			return nil, err
		}
	}
	if o.initrd != "" {
		if s.cfg.Initrd, err = read("initrd", o.initrd); err != nil {
			return nil, err
		}
	}
	if o.kernel == "" && o.bios == "" {
		// The embedded default guest.
		s.cfg.Kernel = images.Kernel()
		if o.initrd == "" {
			s.cfg.Initrd = images.Initramfs()
		}
		if !o.cmdlineSet {
			s.cfg.Cmdline = images.DefaultCmdline
		}
	}
	if o.initrd != "" && len(s.cfg.Kernel) == 0 {
		return nil, errors.New("--initrd needs --kernel")
	}
	for _, df := range o.devices {
		d, err := parseDeviceFlag(df)
		if err != nil {
			return nil, err
		}
		s.devs = append(s.devs, d)
	}
	if o.vsock != "" {
		v, err := parseVsock(o.vsock)
		if err != nil {
			return nil, err
		}
		s.vsock = &v
	}
	if o.balloon != "" {
		var n uint64 // "0", "0M"...: a balloon the guest starts with empty
		if strings.TrimRight(strings.ToUpper(strings.TrimSpace(o.balloon)), "KMGTIB") != "0" {
			if n, err = parseMemSize(o.balloon); err != nil {
				return nil, fmt.Errorf("--balloon: %v", err)
			}
		}
		if n != 0 && n >= memSize {
			return nil, fmt.Errorf("--balloon %s: not less than the guest's memory (%s)", o.balloon, o.memory)
		}
		pages := uint32(n >> 12)
		s.balloon = &pages
	}
	s.console = o.virtioConsole
	if n := len(s.devs) + btoi(s.vsock != nil) + btoi(s.rng) + btoi(s.balloon != nil) + btoi(s.console != ""); n > board.VirtioSlots {
		return nil, fmt.Errorf("%d virtio devices requested: the board has %d slots", n, board.VirtioSlots)
	}
	return s, nil
}

// runMACSeed is random per process: switch ports of separate popek run
// processes never share a segment, but their guests' addresses should not
// look alike either.
func runMACSeed() string {
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("popek-run-%d-%x", os.Getpid(), b)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// devices creates fresh device backends in slot order: --drive, --net and
// --share in command-line order, then --vsock, the RNG, the balloon and
// the virtio console. On error the ones made so far are closed.
func (s *machineSpec) devices() (devs []virtio.Device, err error) {
	defer func() {
		if err != nil {
			for _, d := range devs {
				d.Close()
			}
			devs = nil
		}
	}()
	nics := 0
	for _, d := range s.devs {
		var dev virtio.Device
		var derr error
		switch {
		case d.drive != nil:
			dev, derr = newBlockDevice(*d.drive)
		case d.net != nil:
			dev, derr = newNetDevice(*d.net, nics, s.macSeed, s.switches)
			nics++
		case d.share != nil:
			dev, derr = newShareDevice(*d.share)
		}
		if derr != nil {
			return devs, derr
		}
		devs = append(devs, dev)
	}
	if s.vsock != nil {
		dev, err := newVsockDevice(*s.vsock)
		if err != nil {
			return devs, err
		}
		devs = append(devs, dev)
	}
	if s.rng {
		devs = append(devs, virtio.NewRNG())
	}
	if s.balloon != nil {
		b := virtio.NewBalloon(nil) // the board attaches the machine's RAM
		b.SetTarget(*s.balloon)
		devs = append(devs, b)
	}
	if s.console != "" {
		if s.conSock == nil {
			sock, err := openConsoleSocket(s.console)
			if err != nil {
				return devs, err
			}
			s.conSock = sock
		}
		devs = append(devs, s.conSock.Console())
	}
	return devs, nil
}

// openConsoleSocket listens on --virtio-console's path.
func openConsoleSocket(path string) (*virtio.ConsoleSocket, error) {
	sock, err := virtio.ListenConsole(path)
	if err != nil {
		return nil, fmt.Errorf("--virtio-console: %v", err)
	}
	return sock, nil
}

// close releases what outlives boots: the virtio console's socket.
func (s *machineSpec) close() {
	if s.conSock != nil {
		s.conSock.Close()
		s.conSock = nil
	}
}

// runGuest boots the guest, rebooting on request, until it powers off,
// fails or the user quits.
func runGuest(o *runOptions, stdin *os.File, stdout, stderr io.Writer) error {
	spec, err := buildSpec(o, stdout)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer spec.switches.Close() // hand the host-wide switches this process hosts to another
	defer spec.close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	var signalled atomic.Value // os.Signal
	go func() {
		select {
		case s := <-sig:
			signalled.Store(s)
			cancel()
		case <-ctx.Done():
		}
	}()

	sink := newInputSink()
	defer sink.close()
	if stdin != nil {
		restore, tty := rawTerminal(stdin)
		defer restore()
		var filter *escapeFilter
		if tty {
			filter = &escapeFilter{}
		}
		go pumpInput(stdin, filter, sink, stdout, cancel)
	}

	for {
		st, err := bootOnce(ctx, spec, sink)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		if reboot, err := afterMachine(st, o.noReboot, &signalled, stderr); !reboot {
			return err
		}
	}
}

// afterMachine turns how a machine ended into popek run's outcome: reboot
// into a fresh machine, or finish with err (nil for a clean end).
func afterMachine(st board.ExitStatus, noReboot bool, signalled *atomic.Value, stderr io.Writer) (reboot bool, err error) {
	switch st.Kind {
	case board.ExitPoweroff:
		return false, nil
	case board.ExitReset:
		return !noReboot, nil
	case board.ExitFail:
		return false, &exitError{code: exitCode(st.Code), err: fmt.Errorf("guest failed with code %d", st.Code)}
	case board.ExitToHost:
		if st.Code == 0 {
			return false, nil
		}
		fmt.Fprintf(stderr, "tohost: FAIL code %d\n", st.Code)
		return false, &exitError{code: exitCode(st.Code)}
	case board.ExitCanceled:
		if s := signalled.Load(); s != nil {
			return false, &exitError{code: 1, err: fmt.Errorf("stopped by signal (%v)", s)}
		}
		return false, nil // Ctrl-A X
	default:
		return false, &exitError{code: 1, err: fmt.Errorf("machine stopped: %v", st)}
	}
}

// exitCode maps a guest code to a process status that never reads as
// success: statuses are 8 bits, so 256 would otherwise become 0.
func exitCode(code int) int {
	if code <= 0 || code > 255 {
		return 255
	}
	return code
}

// bootOnce builds a fresh machine, runs it and tears it down.
func bootOnce(ctx context.Context, spec *machineSpec, sink *inputSink) (board.ExitStatus, error) {
	devs, err := spec.devices()
	if err != nil {
		return board.ExitStatus{}, err
	}
	cfg := spec.cfg
	cfg.Devices = devs
	// A fresh seed per boot, as QEMU gives: Linux's RNG is ready at once.
	cfg.RNGSeed = make([]byte, 32)
	rand.Read(cfg.RNGSeed)
	m, err := board.New(cfg)
	if err != nil {
		return board.ExitStatus{}, err
	}
	defer m.Close()
	sink.set(m.Console())
	defer sink.set(nil)
	return m.Run(ctx)
}
