package vmm

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/images"
)

// Backends create the devices that reach outside the VM (networks, host
// directories); a nil function refuses configs that need it. NewBackends
// returns the real ones. NewNet gets the VM's name and the NIC's index to
// derive a stable MAC address.
type Backends struct {
	NewNet   func(vm string, index int, n NetConfig) (virtio.Device, error)
	NewShare func(ShareConfig) (virtio.Device, error)
}

// check refuses, up front, a config whose devices cannot be built.
func (b *Backends) check(c *Config) error {
	if len(c.Nets) > 0 && b.NewNet == nil {
		return errorf(KindInvalid, "nets: this manager has no network backend (Options.Backends: see NewBackends)")
	}
	if len(c.Shares) > 0 && b.NewShare == nil {
		return errorf(KindInvalid, "shares: this manager has no directory-sharing backend (Options.Backends: see NewBackends)")
	}
	return nil
}

// bootSpec is what a VM's run boots each machine from: the images read at
// start (so a guest reboot does not depend on the files still being there)
// and the device list, with rate limiters that live as long as the run.
type bootSpec struct {
	board    board.Config // without Devices, Console and Throttle
	cfg      *Config
	backends Backends
	diskLims []*RateLimiter // per drive, nil when unlimited
	// balloonPages is the balloon size last set at run time (SetBalloon),
	// which a guest reboot keeps, as QEMU's balloon target survives one.
	balloonPages atomic.Pointer[uint32]
}

// newBootSpec reads the files c names and checks everything board.New
// would, except device construction.
func newBootSpec(c *Config, backends Backends, guest *defaultGuest) (*bootSpec, error) {
	if err := backends.check(c); err != nil {
		return nil, err
	}
	mem, err := c.MemoryBytes()
	if err != nil {
		return nil, errorf(KindInvalid, "%v", err)
	}
	s := &bootSpec{cfg: c, backends: backends}
	s.board = board.Config{Harts: c.VCPUs, MemSize: mem, Cmdline: c.Cmdline, MMU: c.MMU,
		NoMemMerge: c.MemMerge != nil && !*c.MemMerge}
	read := func(field, path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, errorf(KindInvalid, "%s: %v", field, err)
		}
		return b, nil
	}
	switch c.BIOS {
	case "":
		s.board.Boot = board.BootDirect
	case "none":
		s.board.Boot = board.BootBare
	default:
		s.board.Boot = board.BootFirmware
		if s.board.Firmware, err = read("bios", c.BIOS); err != nil {
			return nil, err
		}
	}
	if c.Kernel != "" {
		if s.board.Kernel, err = read("kernel", c.Kernel); err != nil {
			return nil, err
		}
	}
	if c.Initrd != "" {
		if s.board.Initrd, err = read("initrd", c.Initrd); err != nil {
			return nil, err
		}
	}
	if c.Kernel == "" && c.BIOS == "" {
		// The embedded default guest.
		s.board.Kernel = guest.kernel()
		if c.Initrd == "" {
			s.board.Initrd = guest.initramfs()
		}
		if c.Cmdline == "" {
			s.board.Cmdline = images.DefaultCmdline
		}
	}
	for _, d := range c.Drives {
		var lim *RateLimiter
		if d.RateLimit != nil {
			l, err := d.RateLimit.limit()
			if err != nil {
				return nil, errorf(KindInvalid, "rate_limit: %v", err)
			}
			lim = NewRateLimiter(l)
		}
		s.diskLims = append(s.diskLims, lim)
	}
	return s, nil
}

// defaultGuest is one copy of the embedded guest images shared by every
// VM of a manager (the board only reads them), so each VM does not hold
// megabytes of its own.
type defaultGuest struct {
	once sync.Once
	k, i []byte
}

func (g *defaultGuest) load() { g.once.Do(func() { g.k, g.i = images.Kernel(), images.Initramfs() }) }

func (g *defaultGuest) kernel() []byte    { g.load(); return g.k }
func (g *defaultGuest) initramfs() []byte { g.load(); return g.i }

// disk is a drive's device as the VMM keeps it for statistics.
type disk struct {
	block *virtio.Block
	lim   *RateLimiter
}

// devices creates fresh device models in slot order: drives, nets, shares,
// vsock, the RNG, the balloon, then the virtio console. On error the ones
// made so far are closed.
func (s *bootSpec) devices() (devs []virtio.Device, disks []disk, err error) {
	defer func() {
		if err != nil {
			for _, d := range devs {
				d.Close()
			}
			devs, disks = nil, nil
		}
	}()
	for i, d := range s.cfg.Drives {
		blk, err := virtio.NewBlock(virtio.BlockConfig{Path: d.File, ReadOnly: d.ReadOnly, Serial: d.Serial, Overlay: d.Overlay})
		if err != nil {
			return devs, nil, errorf(KindInvalid, "drives[%d]: %v", i, err)
		}
		var dev virtio.Device = blk
		if lim := s.diskLims[i]; lim != nil {
			dev = newLimitedBlock(blk, lim)
		}
		devs = append(devs, dev)
		disks = append(disks, disk{block: blk, lim: s.diskLims[i]})
	}
	for i, n := range s.cfg.Nets {
		dev, err := s.backends.NewNet(s.cfg.Name, i, n)
		if err != nil {
			return devs, nil, errorf(KindInvalid, "nets[%d]: %v", i, err)
		}
		devs = append(devs, dev)
	}
	for i, sh := range s.cfg.Shares {
		dev, err := s.backends.NewShare(sh)
		if err != nil {
			return devs, nil, errorf(KindInvalid, "shares[%d]: %v", i, err)
		}
		devs = append(devs, dev)
	}
	if v := s.cfg.Vsock; v != nil {
		dev, err := virtio.NewVsock(v.CID, v.UDS)
		if err != nil {
			return devs, nil, errorf(KindInvalid, "vsock: %v", err)
		}
		devs = append(devs, dev)
	}
	if s.cfg.RNG == nil || *s.cfg.RNG {
		devs = append(devs, virtio.NewRNG())
	}
	if s.cfg.Balloon != nil {
		n, err := s.cfg.Balloon.bytes()
		if err != nil {
			return devs, nil, errorf(KindInvalid, "balloon.size: %v", err)
		}
		pages := uint32(n >> 12)
		if p := s.balloonPages.Load(); p != nil {
			pages = *p
		}
		b := virtio.NewBalloon(nil) // the board attaches the machine's RAM
		b.SetTarget(pages)
		devs = append(devs, b)
	}
	if s.cfg.VirtioConsole != nil {
		dev, err := newConsoleDevice(s.cfg, false)
		if err != nil {
			return devs, nil, errorf(KindInvalid, "%v", err)
		}
		devs = append(devs, dev)
	}
	return devs, disks, nil
}

// newMachine builds one machine; hook is the board's slice hook.
func (s *bootSpec) newMachine(console *consoleLog, hook board.SliceHook) (*board.Machine, []disk, error) {
	devs, disks, err := s.devices()
	if err != nil {
		return nil, nil, err
	}
	cfg := s.board
	cfg.Devices, cfg.Console, cfg.Throttle = devs, console, hook
	m, err := board.New(cfg)
	if err != nil {
		return nil, nil, errorf(KindInvalid, "machine: %v", err)
	}
	return m, disks, nil
}

// String is for logs.
func (s *bootSpec) String() string {
	return fmt.Sprintf("%s boot, %d vCPU, %s", s.board.Boot, s.board.Harts, formatSize(s.board.MemSize))
}
