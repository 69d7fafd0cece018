package board

import (
	"fmt"
	"io"

	"github.com/popek-vm/popek/devices/virtio"
)

// Boot selects who runs first and in which privilege mode.
type Boot int

const (
	// BootDirect: the VMM is the SBI. Hart 0 enters the kernel in S-mode;
	// the other harts wait in HSM STOPPED until sbi_hart_start.
	BootDirect Boot = iota
	// BootFirmware: every hart starts in M-mode at the reset ROM, which
	// jumps to Firmware at DRAM base; Kernel (optional) waits at 0x80200000.
	BootFirmware
	// BootBare: Kernel, an ELF, runs in M-mode on every hart from its entry
	// (bare-metal tests, xv6). Its tohost symbol, if any, is watched.
	BootBare
)

func (b Boot) String() string {
	switch b {
	case BootDirect:
		return "direct"
	case BootFirmware:
		return "firmware"
	case BootBare:
		return "bare"
	}
	return fmt.Sprintf("Boot(%d)", int(b))
}

// Config describes a virt machine.
type Config struct {
	Harts   int    // 1..MaxHarts
	MemSize uint64 // bytes of RAM at DRAMBase; a multiple of 4 KiB
	Boot    Boot

	// Kernel is a Linux Image, Image.gz or RISC-V ELF (required except for
	// BootFirmware). Firmware is an ELF or raw binary (BootFirmware only).
	Kernel, Firmware, Initrd []byte
	Cmdline                  string

	// Devices take virtio-mmio slots 0, 1, ... in order. The machine owns
	// them from New on and closes them in Close (also when New fails).
	Devices []virtio.Device

	// Console receives the UART's (and the SBI console's) output; nil
	// discards it.
	Console io.Writer

	// MMU is the widest translation mode advertised: "sv39", "sv48" or
	// "sv57" (default). Linux probes down from it.
	MMU string
	// RNGSeed, when set, goes into /chosen/rng-seed.
	RNGSeed []byte
	// Throttle, when set, runs after every hart run slice (see SliceHook).
	Throttle SliceHook
	// NoMemMerge keeps guest RAM out of the host kernel's same-page
	// merging (KSM), which is on by default as QEMU's mem-merge: merged
	// pages save memory across VMs but let one guest time another's
	// writes to a shared page.
	NoMemMerge bool
}

// MinMemSize is the least RAM a machine accepts.
const MinMemSize = 4 << 20

// ISA is the riscv,isa string advertised for every hart. Linux 6.1 and
// OpenSBI 1.2 ignore extensions they do not know; sstc matters: it lets
// Linux program stimecmp directly instead of calling SBI set_timer.
const ISA = "rv64imafdc_zicsr_zifencei_zicntr_zihpm_sstc"

func (c *Config) validate() error {
	if c.Harts < 1 || c.Harts > MaxHarts {
		return fmt.Errorf("%d harts: want 1..%d", c.Harts, MaxHarts)
	}
	if c.MemSize < MinMemSize {
		return fmt.Errorf("memory size %d KiB is too small: want at least %d MiB", c.MemSize>>10, MinMemSize>>20)
	}
	if c.MemSize%pageSize != 0 {
		return fmt.Errorf("memory size %d is not a multiple of 4 KiB", c.MemSize)
	}
	if c.MemSize > 1<<40 {
		return fmt.Errorf("memory size %d GiB is too large", c.MemSize>>30)
	}
	if len(c.Devices) > VirtioSlots {
		return fmt.Errorf("%d virtio devices: the board has %d slots", len(c.Devices), VirtioSlots)
	}
	switch c.Boot {
	case BootDirect, BootBare:
		if len(c.Kernel) == 0 {
			return fmt.Errorf("%v boot needs a kernel", c.Boot)
		}
		if len(c.Firmware) != 0 {
			return fmt.Errorf("%v boot takes no firmware", c.Boot)
		}
	case BootFirmware:
		if len(c.Firmware) == 0 {
			return fmt.Errorf("firmware boot needs a firmware image")
		}
	default:
		return fmt.Errorf("unknown boot mode %v", c.Boot)
	}
	if len(c.Initrd) != 0 && len(c.Kernel) == 0 {
		return fmt.Errorf("an initrd needs a kernel")
	}
	if _, err := mmuType(c.MMU); err != nil {
		return err
	}
	return nil
}

func mmuType(s string) (string, error) {
	switch s {
	case "", "sv57":
		return "riscv,sv57", nil
	case "sv48":
		return "riscv,sv48", nil
	case "sv39":
		return "riscv,sv39", nil
	}
	return "", fmt.Errorf("unknown MMU mode %q: want sv39, sv48 or sv57", s)
}
