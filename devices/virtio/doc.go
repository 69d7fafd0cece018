// Package virtio implements VIRTIO 1.2 devices for popek: the virtio-mmio
// transport (version 2), split virtqueues with indirect descriptors and
// EVENT_IDX, and the block, entropy, console and balloon device models.
//
// # Layers
//
// A device model implements [Device]. [NewMMIO] wraps it in the register
// window the board maps into guest-physical space (0x1000 bytes) and wires
// its interrupt to a PLIC source. The transport owns everything generic:
// feature negotiation, device status, queue registers, interrupt status and
// config generation. When the driver sets DRIVER_OK the transport hands the
// device one [Queue] per virtqueue and starts the device's worker goroutine.
//
// # Threading
//
// Register accesses run on the hart goroutines and never touch guest memory.
// All queue processing (Device.Notify) runs on the device's single worker
// goroutine, woken by QueueNotify or by the device itself through
// [Host.Kick]. Reset, Close and [MMIO.Quiesce] stop the worker and wait for
// it, so afterwards no request is in flight and no guest memory is touched.
//
// # Writing a device
//
// A minimal device pops chains in Notify, serves them and pushes them back:
//
//	func (d *Dev) Notify(q *virtio.Queue) {
//		for {
//			c, ok := q.Pop()
//			if !ok {
//				return
//			}
//			n := d.serve(c) // read c's readable bytes, write its writable ones
//			q.Push(c, n)    // n = bytes written; marks them dirty for snapshots
//		}
//	}
//
// The transport decides afterwards whether the driver wants an interrupt.
// Pop validates every descriptor (addresses inside RAM, no loops, bounded
// lengths, ordering); a malformed ring puts the device into DEVICE_NEEDS_RESET
// instead of reaching the device, so device code only sees sane chains.
//
// Devices that receive from the host (console input, a network backend)
// buffer the data and call Host.Kick for their receive queue; Notify then
// pops as many buffers as it can fill. Pop re-arms EVENT_IDX when the ring is
// empty, so the driver kicks when it adds more. A device that must hold a
// buffer across Notify calls (the balloon's statistics buffer) keeps its
// Chain.Head in its state and returns it with Queue.PushHead.
//
// # Snapshots
//
// MMIO.SaveState returns plain data (JSON and gob friendly) covering the
// transport, every queue and, through Device.MarshalState, the device model.
// Quiesce first so no request is in flight; restore guest RAM before
// RestoreState, which re-validates the rings against it.
//
// The block device's copy-on-write overlay format is described in
// blk_overlay.go.
package virtio
