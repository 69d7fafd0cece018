package vmm

import (
	"strconv"
	"time"

	"github.com/popek-vm/popek/riscv"
)

// VMStats is what `popek stats` and GET /v1/vms/{name}/stats report. The
// counters cover the VM's current or last run (since its last start),
// across guest reboots.
type VMStats struct {
	Name          string  `json:"name"`
	State         State   `json:"state"`
	VCPUs         int     `json:"vcpus"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	Boots         int     `json:"boots"` // machines booted since the start: 1 + guest reboots

	InstructionsRetired uint64 `json:"instructions_retired"`
	// VCPUSeconds is host CPU time used by the VM's harts; ThrottledSeconds
	// is time they slept to honour cpu_cap and cpu_weight.
	VCPUSeconds      float64 `json:"vcpu_seconds"`
	ThrottledSeconds float64 `json:"throttled_seconds"`

	Exceptions map[string]uint64 `json:"exceptions"` // traps by cause name
	Interrupts map[string]uint64 `json:"interrupts"`
	Ecalls     uint64            `json:"ecalls"` // ECALLs, including those the SBI served
	// Exits are the VMM's exits by cause: "sbi:EXT" hypercalls by SBI
	// extension and "mmio:DEVICE" device accesses by window.
	Exits      map[string]uint64 `json:"exits"`
	TLBHits    uint64            `json:"tlb_hits"`
	TLBMisses  uint64            `json:"tlb_misses"`
	TLBHitRate float64           `json:"tlb_hit_rate"` // hits / lookups, 0 before any

	MemoryBytes   uint64 `json:"memory_bytes"`   // guest RAM size
	ResidentBytes uint64 `json:"resident_bytes"` // guest RAM backed by host memory now
	// Balloon is the balloon's target and actual size while the VM runs
	// with one.
	Balloon *BalloonStats `json:"balloon,omitempty"`
	// VirtioConsole is the virtio console's socket while the VM runs with
	// one.
	VirtioConsole *VirtioConsoleStats `json:"virtio_console,omitempty"`

	Disks []DiskStats `json:"disks"`
	Harts []HartStats `json:"harts"`
}

// DiskStats counts one drive's completed requests.
type DiskStats struct {
	File       string `json:"file"`
	ReadOps    uint64 `json:"read_ops"`
	ReadBytes  uint64 `json:"read_bytes"`
	WriteOps   uint64 `json:"write_ops"`
	WriteBytes uint64 `json:"write_bytes"`
	FlushOps   uint64 `json:"flush_ops"`
	Errors     uint64 `json:"errors"`
	Throttled  uint64 `json:"throttled"` // times the rate limit held requests back
}

// HartStats is one vCPU's share.
type HartStats struct {
	ID                  int    `json:"id"`
	InstructionsRetired uint64 `json:"instructions_retired"`
}

// hartCounters sums riscv.Stats over harts and machines.
type hartCounters struct {
	exceptions [32]uint64
	interrupts [16]uint64
	ecalls     uint64
	tlbHits    uint64
	tlbMisses  uint64
}

func (c *hartCounters) add(s *riscv.Stats) {
	for i, v := range s.Exceptions {
		c.exceptions[i] += v
	}
	for i, v := range s.Interrupts {
		c.interrupts[i] += v
	}
	c.ecalls += s.Ecalls
	c.tlbHits += s.TLBHits
	c.tlbMisses += s.TLBMisses
}

func (c *hartCounters) addCounters(o *hartCounters) {
	for i, v := range o.exceptions {
		c.exceptions[i] += v
	}
	for i, v := range o.interrupts {
		c.interrupts[i] += v
	}
	c.ecalls += o.ecalls
	c.tlbHits += o.tlbHits
	c.tlbMisses += o.tlbMisses
}

// fill writes the counters into st.
func (c *hartCounters) fill(st *VMStats) {
	st.Exceptions = map[string]uint64{}
	for i, v := range c.exceptions {
		if v != 0 {
			st.Exceptions[ExceptionName(uint64(i))] = v
		}
	}
	st.Interrupts = map[string]uint64{}
	for i, v := range c.interrupts {
		if v != 0 {
			st.Interrupts[InterruptName(uint64(i))] = v
		}
	}
	st.Ecalls, st.TLBHits, st.TLBMisses = c.ecalls, c.tlbHits, c.tlbMisses
	if n := c.tlbHits + c.tlbMisses; n > 0 {
		st.TLBHitRate = float64(c.tlbHits) / float64(n)
	}
}

// ExceptionName names a synchronous trap cause (privileged spec, mcause).
func ExceptionName(cause uint64) string {
	switch cause {
	case 0:
		return "instruction_misaligned"
	case 1:
		return "instruction_access_fault"
	case 2:
		return "illegal_instruction"
	case 3:
		return "breakpoint"
	case 4:
		return "load_misaligned"
	case 5:
		return "load_access_fault"
	case 6:
		return "store_misaligned"
	case 7:
		return "store_access_fault"
	case 8:
		return "ecall_u"
	case 9:
		return "ecall_s"
	case 11:
		return "ecall_m"
	case 12:
		return "instruction_page_fault"
	case 13:
		return "load_page_fault"
	case 15:
		return "store_page_fault"
	case 18:
		return "software_check"
	case 19:
		return "hardware_error"
	}
	return "cause_" + strconv.FormatUint(cause, 10)
}

// InterruptName names an interrupt cause.
func InterruptName(cause uint64) string {
	switch cause {
	case 1:
		return "supervisor_software"
	case 3:
		return "machine_software"
	case 5:
		return "supervisor_timer"
	case 7:
		return "machine_timer"
	case 9:
		return "supervisor_external"
	case 11:
		return "machine_external"
	case 13:
		return "counter_overflow"
	}
	return "cause_" + strconv.FormatUint(cause, 10)
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// BalloonStats is a running balloon's size.
type BalloonStats struct {
	TargetBytes uint64 `json:"target_bytes"`
	ActualBytes uint64 `json:"actual_bytes"`
}

// VirtioConsoleStats is the virtio console's host side: whether a client
// is connected, and bytes lost because the guest did not read its input
// (more than 1 MiB pending) or a client did not read its output in time.
type VirtioConsoleStats struct {
	Connected          bool   `json:"connected"`
	InputDroppedBytes  uint64 `json:"input_dropped_bytes"`
	OutputDroppedBytes uint64 `json:"output_dropped_bytes"`
}
