package api

import (
	"strconv"

	"github.com/popek-vm/popek/vmm"
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports every VM's statistics at scrape time, so metrics are
// never stale and VMs that were deleted disappear.
type collector struct {
	mgr *vmm.Manager

	state, vcpus, memory, resident, uptime, boots *prometheus.Desc
	instret, vcpuSeconds, throttled               *prometheus.Desc
	exceptions, interrupts, ecalls, exits         *prometheus.Desc
	tlbHits, tlbMisses                            *prometheus.Desc
	diskBytes, diskOps, diskThrottled             *prometheus.Desc
	hartInstret                                   *prometheus.Desc
	snapshots, templates                          *prometheus.Desc
	balloonTarget, balloonActual                  *prometheus.Desc
	consoleConnected, consoleDropped              *prometheus.Desc
}

func newCollector(mgr *vmm.Manager) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("popek_vm_"+name, help, append([]string{"vm"}, labels...), nil)
	}
	return &collector{
		mgr:              mgr,
		state:            d("state", "1 for the VM's current state.", "state"),
		vcpus:            d("vcpus", "Virtual CPUs."),
		memory:           d("memory_bytes", "Guest RAM size."),
		resident:         d("resident_bytes", "Guest RAM backed by host memory (mincore)."),
		uptime:           d("uptime_seconds", "Seconds since the VM was started."),
		boots:            d("boots", "Machines booted since the start (1 + guest reboots)."),
		instret:          d("instructions_retired_total", "Instructions retired by all vCPUs."),
		vcpuSeconds:      d("vcpu_seconds_total", "Host CPU time used by the VM's vCPUs."),
		throttled:        d("throttled_seconds_total", "Time vCPUs slept to honour cpu_cap and cpu_weight."),
		exceptions:       d("exceptions_total", "Synchronous traps taken, by cause.", "cause"),
		interrupts:       d("interrupts_total", "Interrupts taken, by cause.", "cause"),
		ecalls:           d("ecalls_total", "ECALL instructions executed."),
		exits:            d("exits_total", "VMM exits by cause: sbi:EXTENSION hypercalls and mmio:DEVICE accesses.", "cause"),
		tlbHits:          d("tlb_hits_total", "Software TLB hits."),
		tlbMisses:        d("tlb_misses_total", "Software TLB misses."),
		diskBytes:        d("disk_bytes_total", "Bytes transferred by a drive (by slot in the config's drives list).", "drive", "op"),
		diskOps:          d("disk_ops_total", "Requests completed by a drive.", "drive", "op"),
		diskThrottled:    d("disk_throttled_total", "Times a drive's rate limit held requests back.", "drive"),
		hartInstret:      d("hart_instructions_retired_total", "Instructions retired by one vCPU.", "hart"),
		snapshots:        d("snapshots", "Snapshots the VM has in the state directory."),
		balloonTarget:    d("balloon_target_bytes", "Memory the host asked the VM's balloon to hold."),
		balloonActual:    d("balloon_actual_bytes", "Memory the guest has put in its balloon (given back to the host)."),
		consoleConnected: d("virtio_console_connected", "1 while a client is connected to the virtio console's socket."),
		consoleDropped:   d("virtio_console_dropped_bytes_total", "Virtio console bytes lost: input the guest did not read, output a client did not read in time.", "direction"),
		templates:        prometheus.NewDesc("popek_templates", "Templates in the state directory.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.vcpus, c.memory, c.resident, c.uptime, c.boots,
		c.instret, c.vcpuSeconds, c.throttled, c.exceptions, c.interrupts, c.ecalls, c.exits,
		c.tlbHits, c.tlbMisses, c.diskBytes, c.diskOps, c.diskThrottled, c.hartInstret, c.snapshots, c.templates, c.balloonTarget, c.balloonActual, c.consoleConnected, c.consoleDropped} {
		ch <- d
	}
}

var allStates = []vmm.State{vmm.StateStopped, vmm.StateRunning, vmm.StatePaused, vmm.StateStopping, vmm.StateError}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, st := range c.mgr.AllStats() {
		vm := st.Name
		for _, s := range allStates {
			v := 0.0
			if st.State == s {
				v = 1
			}
			gauge(c.state, v, vm, string(s))
		}
		gauge(c.vcpus, float64(st.VCPUs), vm)
		gauge(c.memory, float64(st.MemoryBytes), vm)
		gauge(c.resident, float64(st.ResidentBytes), vm)
		if b := st.Balloon; b != nil {
			gauge(c.balloonTarget, float64(b.TargetBytes), vm)
			gauge(c.balloonActual, float64(b.ActualBytes), vm)
		}
		if vc := st.VirtioConsole; vc != nil {
			connected := 0.0
			if vc.Connected {
				connected = 1
			}
			gauge(c.consoleConnected, connected, vm)
			counter(c.consoleDropped, float64(vc.InputDroppedBytes), vm, "input")
			counter(c.consoleDropped, float64(vc.OutputDroppedBytes), vm, "output")
		}
		gauge(c.uptime, st.UptimeSeconds, vm)
		gauge(c.boots, float64(st.Boots), vm)
		counter(c.instret, float64(st.InstructionsRetired), vm)
		counter(c.vcpuSeconds, st.VCPUSeconds, vm)
		counter(c.throttled, st.ThrottledSeconds, vm)
		for cause, n := range st.Exceptions {
			counter(c.exceptions, float64(n), vm, cause)
		}
		for cause, n := range st.Interrupts {
			counter(c.interrupts, float64(n), vm, cause)
		}
		counter(c.ecalls, float64(st.Ecalls), vm)
		for cause, n := range st.Exits {
			counter(c.exits, float64(n), vm, cause)
		}
		counter(c.tlbHits, float64(st.TLBHits), vm)
		counter(c.tlbMisses, float64(st.TLBMisses), vm)
		for i, d := range st.Disks {
			drive := strconv.Itoa(i) // by slot: two drives may share a file name
			counter(c.diskBytes, float64(d.ReadBytes), vm, drive, "read")
			counter(c.diskBytes, float64(d.WriteBytes), vm, drive, "write")
			counter(c.diskOps, float64(d.ReadOps), vm, drive, "read")
			counter(c.diskOps, float64(d.WriteOps), vm, drive, "write")
			counter(c.diskOps, float64(d.FlushOps), vm, drive, "flush")
			counter(c.diskThrottled, float64(d.Throttled), vm, drive)
		}
		for _, h := range st.Harts {
			counter(c.hartInstret, float64(h.InstructionsRetired), vm, strconv.Itoa(h.ID))
		}
		gauge(c.snapshots, float64(c.mgr.SnapshotCount(vm)), vm)
	}
	ch <- prometheus.MustNewConstMetric(c.templates, prometheus.GaugeValue, float64(c.mgr.TemplateCount()))
}
