// Package vmm is popek's hypervisor core: a Manager hosts many VMs, each a
// board.Machine on its own goroutines, with definitions persisted in a
// state directory, lifecycle operations (start, pause, resume, stop,
// reboot, delete), console output kept for replay, lifecycle events, CPU
// weights and caps, I/O rate limits and statistics. Package api serves a
// Manager over HTTP; `popek serve` runs both.
//
// # Isolation
//
// A fault inside one VM, even a Go panic in emulation or device code,
// stops only that VM: the board recovers panics on hart goroutines (the
// run ends with board.ExitError), virtio workers recover theirs (the
// device breaks), and every goroutine this package starts recovers too.
// The VM is left in StateError with the reason, logged and sent as a
// "failed" event; it can be started again.
//
// # Clock policy
//
// Guest time (mtime, the 10 MHz timebase) does not advance while a VM is
// paused: Pause stops every hart at an instruction boundary and then the
// machine's clock; Resume continues guest time from the value it had when
// paused, so timers do not fire in a burst and the guest sees no jump. The
// goldfish RTC keeps reporting host wall-clock time, so a guest that reads
// the RTC after a long pause sees the real date (as after a suspend). A
// stopped VM has no clock; each start or reboot begins at mtime 0.
//
// # Locking
//
// Each VM has an operation lock held for the whole of a lifecycle
// operation, so operations on one VM never interleave and a failed one
// changes nothing, and a state lock held only briefly, never while waiting
// for a machine, so that stats and listings stay responsive.
package vmm
