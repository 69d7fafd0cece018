package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/snapshot"
	"github.com/popek-vm/popek/vswitch"
	"github.com/spf13/cobra"
)

// snapshotFlags are popek run's snapshot and restore flags.
type snapshotFlags struct {
	dir         string // --snapshot-dir
	incremental bool
	compress    bool
	restore     string // --restore
	diskDir     string // --restore-disk-dir
}

// restoreConflicts are run flags that describe a machine; with --restore
// the machine comes from the snapshot instead. (--share is allowed: it
// names the host directory of each of the snapshot's shares.)
var restoreConflicts = []string{"kernel", "initrd", "append", "bios", "smp", "memory", "drive", "mmu", "rng"}

// addSnapshotFlags adds --snapshot-dir and --restore to popek run. Without
// them the command runs exactly as before.
func addSnapshotFlags(cmd *cobra.Command, o *runOptions, stdin *os.File, stdout, stderr io.Writer) {
	var sf snapshotFlags
	f := cmd.Flags()
	f.StringVar(&sf.dir, "snapshot-dir", "", "on SIGUSR1 or Ctrl-A S, write a snapshot of the running guest into DIR/<timestamp> (the guest keeps running)")
	f.BoolVar(&sf.incremental, "snapshot-incremental", false, "make each snapshot after the first (or after the one restored) incremental on the previous one")
	f.BoolVar(&sf.compress, "snapshot-compress", false, "compress snapshot memory (for archive: restoring it is slower)")
	f.StringVar(&sf.restore, "restore", "", "restore the snapshot in SNAPDIR and continue the guest where it was")
	f.StringVar(&sf.diskDir, "restore-disk-dir", "", "with --restore: where the guest's own disk overlays go (default: a new temporary directory)")
	plain := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if sf.dir == "" && sf.restore == "" {
			return plain(c, args)
		}
		o.cmdlineSet = c.Flags().Changed("append")
		if sf.restore != "" {
			for _, name := range restoreConflicts {
				if c.Flags().Changed(name) {
					return &exitError{code: 1, err: fmt.Errorf("--%s cannot be used with --restore: the machine comes from the snapshot", name)}
				}
			}
		}
		return runWithSnapshots(o, &sf, stdin, stdout, stderr)
	}
}

// snapshotter writes snapshots of whichever machine currently runs.
type snapshotter struct {
	flags *snapshotFlags
	out   io.Writer // the raw-mode terminal: lines end in \r\n
	mu    sync.Mutex
	cur   *board.Machine     // guarded by mu; nil between machines
	last  *snapshot.Snapshot // parent for the next incremental one
}

// setMachine installs the running machine (nil before closing it: a
// snapshot in progress finishes first, so RAM is never unmapped under it).
func (s *snapshotter) setMachine(m *board.Machine) {
	s.mu.Lock()
	s.cur = m
	s.mu.Unlock()
}

func (s *snapshotter) take() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		fmt.Fprintf(s.out, "\r\npopek: no machine is running: no snapshot taken\r\n")
		return
	}
	dir := uniqueDir(s.flags.dir, time.Now().UTC().Format("20060102-150405.000"))
	o := snapshot.WriteOptions{Compress: s.flags.compress, PopekVersion: versionString()}
	if s.flags.incremental {
		o.Parent = s.last
	}
	snap, err := snapshot.Write(dir, s.cur, o)
	if err != nil {
		fmt.Fprintf(s.out, "\r\npopek: %v\r\n", err)
		return
	}
	s.last = snap
	w := snap.Written
	fmt.Fprintf(s.out, "\r\npopek: snapshot %s (guest paused %v, %d MiB of memory)\r\n",
		dir, w.Paused.Round(100*time.Microsecond), w.MemoryBytes>>20)
}

// uniqueDir is parent/name, with a suffix if that exists already.
func uniqueDir(parent, name string) string {
	dir := filepath.Join(parent, name)
	for i := 2; ; i++ {
		if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
			return dir
		}
		dir = filepath.Join(parent, fmt.Sprintf("%s-%d", name, i))
	}
}

// runWithSnapshots is runGuest with snapshot triggers and, with --restore,
// a restored machine instead of a fresh boot.
func runWithSnapshots(o *runOptions, sf *snapshotFlags, stdin *os.File, stdout, stderr io.Writer) error {
	fail := func(err error) error { return &exitError{code: 1, err: err} }
	var first *board.Machine
	var next func() (*board.Machine, error) // builds the machine after a reboot
	var restored *snapshot.Snapshot
	if sf.restore != "" {
		var err error
		if restored, err = snapshot.Open(sf.restore); err != nil {
			return fail(err)
		}
		var conSock *virtio.ConsoleSocket // outlives reboots, as in a fresh run
		if o.virtioConsole != "" {
			if conSock, err = openConsoleSocket(o.virtioConsole); err != nil {
				return fail(err)
			}
			defer conSock.Close()
		}
		if first, next, err = restoreMachine(o, sf, restored, conSock, stdout, stderr); err != nil {
			return fail(err)
		}
	} else {
		spec, err := buildSpec(o, stdout)
		if err != nil {
			return fail(err)
		}
		defer spec.close()
		next = func() (*board.Machine, error) { return freshMachine(spec) }
	}
	if sf.dir != "" {
		if err := os.MkdirAll(sf.dir, 0o755); err != nil {
			if first != nil {
				first.Close()
			}
			return fail(err)
		}
	}
	snaps := &snapshotter{flags: sf, out: stdout, last: restored}
	trigger := make(chan struct{}, 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sig)
	var signalled atomic.Value // os.Signal
	go func() {
		for {
			select {
			case s := <-sig:
				if s == syscall.SIGUSR1 {
					select {
					case trigger <- struct{}{}:
					default:
					}
					continue
				}
				signalled.Store(s)
				cancel()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case <-trigger:
				if sf.dir == "" {
					fmt.Fprintf(stdout, "\r\npopek: no --snapshot-dir: no snapshot taken\r\n")
					continue
				}
				snaps.take()
			case <-ctx.Done():
				return
			}
		}
	}()

	sink := newInputSink()
	defer sink.close()
	if stdin != nil {
		restoreTTY, tty := rawTerminal(stdin)
		defer restoreTTY()
		var filter *escapeFilter
		var in io.Reader = stdin
		if tty {
			filter = &escapeFilter{}
			in = &snapshotKeys{in: stdin, trigger: trigger}
		}
		go pumpInput(in, filter, sink, stdout, cancel)
	}

	for boot := 0; ; boot++ {
		m := first
		if boot > 0 || m == nil {
			var err error
			if m, err = next(); err != nil {
				return fail(err)
			}
		}
		st, err := runMachine(ctx, m, sink, snaps)
		if err != nil {
			return fail(err)
		}
		if reboot, err := afterMachine(st, o.noReboot, &signalled, stderr); !reboot {
			return err
		}
	}
}

// runMachine runs m with the console attached and snapshots enabled, then
// closes it.
func runMachine(ctx context.Context, m *board.Machine, sink *inputSink, snaps *snapshotter) (board.ExitStatus, error) {
	sink.set(m.Console())
	snaps.setMachine(m)
	st, err := m.Run(ctx)
	snaps.setMachine(nil)
	sink.set(nil)
	m.Close()
	return st, err
}

// freshMachine boots a new machine from the flags, as bootOnce does.
func freshMachine(spec *machineSpec) (*board.Machine, error) {
	devs, err := spec.devices()
	if err != nil {
		return nil, err
	}
	cfg := spec.cfg
	cfg.Devices = devs
	cfg.RNGSeed = make([]byte, 32)
	rand.Read(cfg.RNGSeed)
	return board.New(cfg)
}

// restoreMachine restores snap with the devices popek run can rebuild, and
// returns a builder for the machines after a guest reboot: the same disks
// (the restored guest's own overlays) and network, booted afresh from the
// snapshot's boot images.
func restoreMachine(o *runOptions, sf *snapshotFlags, snap *snapshot.Snapshot, conSock *virtio.ConsoleSocket, console, stderr io.Writer) (*board.Machine, func() (*board.Machine, error), error) {
	diskDir := sf.diskDir
	if diskDir == "" {
		var err error
		if diskDir, err = os.MkdirTemp("", "popek-restore-"); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stderr, "popek: the restored guest's disk changes go to %s\n", diskDir)
	}
	rb, err := newRestoreBackends(o)
	if err != nil {
		return nil, nil, err
	}
	rb.console = conSock
	if err := rb.checkShares(snap.Manifest.VM.Devices); err != nil {
		return nil, nil, err
	}
	if err := rb.checkConsole(snap.Manifest.VM.Devices); err != nil {
		return nil, nil, err
	}
	m, err := snap.Restore(snapshot.RestoreOptions{Console: console, DiskDir: diskDir, Device: rb.device, BootImages: true, NoMemMerge: !o.memMerge})
	if err != nil {
		return nil, nil, err
	}
	cfg := m.Config()
	cfg.Devices = nil
	var blocks []virtio.BlockConfig // by slot, for a reboot
	for _, d := range m.VirtioDevices() {
		var bc virtio.BlockConfig
		if b, ok := d.(interface{ SnapshotConfig() virtio.BlockConfig }); ok {
			bc = b.SnapshotConfig()
		}
		blocks = append(blocks, bc)
	}
	next := func() (*board.Machine, error) {
		if len(cfg.Kernel) == 0 && len(cfg.Firmware) == 0 {
			return nil, errors.New("the guest rebooted, and the snapshot has no boot images to boot it again")
		}
		c := cfg
		rb.used = 0
		for i, spec := range snap.Manifest.VM.Devices {
			var d virtio.Device
			var err error
			if spec.Block != nil {
				d, err = virtio.NewBlock(blocks[i])
			} else {
				d, err = rb.device(spec)
				if d == nil && err == nil {
					d, err = defaultRebootDevice(spec)
				}
			}
			if err != nil {
				for _, d := range c.Devices {
					d.Close()
				}
				return nil, fmt.Errorf("reboot: slot %d: %v", i, err)
			}
			c.Devices = append(c.Devices, d)
		}
		c.RNGSeed = make([]byte, 32)
		rand.Read(c.RNGSeed)
		return board.New(c)
	}
	return m, next, nil
}

func defaultRebootDevice(spec snapshot.DeviceSpec) (virtio.Device, error) {
	switch spec.Type {
	case virtio.DeviceEntropy:
		return virtio.NewRNG(), nil
	case virtio.DeviceBalloon:
		return virtio.NewBalloon(nil), nil
	}
	return nil, fmt.Errorf("a %s device cannot be rebuilt", spec.Kind)
}

// restoreBackends gives restored network, vsock, 9p and console devices
// their host side: --net flags in order (default: user-mode networking)
// with the snapshot's MAC, --vsock's socket with the snapshot's CID, for
// each shared directory the --share with its tag, and --virtio-console's
// socket.
type restoreBackends struct {
	nets     []netSpec
	vsock    *vsockSpec
	console  *virtio.ConsoleSocket // nil without --virtio-console
	shares   map[string]shareSpec  // by tag
	used     int                   // nets handed out for the machine being built
	seed     string
	switches *vswitch.Registry
}

func newRestoreBackends(o *runOptions) (*restoreBackends, error) {
	rb := &restoreBackends{seed: runMACSeed(), switches: vswitch.NewRegistry(vswitch.Options{HostDir: vswitch.DefaultHostDir()}), shares: map[string]shareSpec{}}
	for _, df := range o.devices {
		if df.flag != "net" && df.flag != "share" {
			continue
		}
		d, err := parseDeviceFlag(df)
		if err != nil {
			return nil, err
		}
		if d.share != nil {
			if _, dup := rb.shares[d.share.Tag]; dup {
				return nil, fmt.Errorf("--share: tag %q given twice", d.share.Tag)
			}
			rb.shares[d.share.Tag] = *d.share
			continue
		}
		rb.nets = append(rb.nets, *d.net)
	}
	if o.vsock != "" {
		v, err := parseVsock(o.vsock)
		if err != nil {
			return nil, err
		}
		rb.vsock = &v
	}
	return rb, nil
}

func (rb *restoreBackends) device(spec snapshot.DeviceSpec) (virtio.Device, error) {
	switch {
	case spec.Net != nil:
		mac, err := net.ParseMAC(spec.Net.MAC)
		if err != nil {
			return nil, err
		}
		n := netSpec{Mode: "user", Original: "user"}
		if rb.used < len(rb.nets) {
			n = rb.nets[rb.used]
		}
		n.MAC = mac
		rb.used++
		return newNetDevice(n, rb.used-1, rb.seed, rb.switches)
	case spec.Vsock != nil:
		if rb.vsock == nil {
			return nil, errors.New("the snapshot has a vsock device: give --vsock cid=N,uds=PATH for its host socket")
		}
		if rb.vsock.CID != spec.Vsock.CID {
			return nil, fmt.Errorf("the snapshot's guest has vsock CID %d, --vsock says %d", spec.Vsock.CID, rb.vsock.CID)
		}
		return newVsockDevice(*rb.vsock)
	case spec.Type == virtio.DeviceConsole:
		if rb.console == nil {
			return nil, errors.New("the snapshot has a virtio console: give --virtio-console PATH for its socket")
		}
		return rb.console.Console(), nil
	case spec.Type == virtio.Device9P:
		if spec.P9 == nil {
			return nil, errors.New("the snapshot does not record the share's tag (it was taken by an older popek): its shared directory cannot be restored")
		}
		sh, ok := rb.shares[spec.P9.Tag]
		if !ok {
			ro := ""
			if spec.P9.ReadOnly {
				ro = ",ro"
			}
			return nil, fmt.Errorf("the snapshot's guest has the shared directory %q: give --share HOSTDIR:%s%s", spec.P9.Tag, spec.P9.Tag, ro)
		}
		if sh.ReadOnly != spec.P9.ReadOnly {
			return nil, fmt.Errorf("--share %s:%s: the snapshot's share is %s, give the same mode", sh.Path, sh.Tag, shareMode(spec.P9.ReadOnly))
		}
		return newShareDevice(sh)
	}
	return nil, nil
}

// checkShares refuses a --share whose tag no shared directory of the
// snapshot has (a missing one is reported when its slot is built).
func (rb *restoreBackends) checkShares(devs []snapshot.DeviceSpec) error {
	have := map[string]bool{}
	for _, d := range devs {
		if d.P9 != nil {
			have[d.P9.Tag] = true
		}
	}
	for tag, sh := range rb.shares {
		if !have[tag] {
			return fmt.Errorf("--share %s:%s: the snapshot has no shared directory with tag %q", sh.Path, tag, tag)
		}
	}
	return nil
}

// checkConsole refuses --virtio-console for a snapshot without a console
// (one with a console and no flag is reported when its slot is built).
func (rb *restoreBackends) checkConsole(devs []snapshot.DeviceSpec) error {
	if rb.console == nil {
		return nil
	}
	for _, d := range devs {
		if d.Type == virtio.DeviceConsole {
			return nil
		}
	}
	return errors.New("--virtio-console: the snapshot has no virtio console")
}

func shareMode(ro bool) string {
	if ro {
		return "read-only (,ro)"
	}
	return "read-write"
}
