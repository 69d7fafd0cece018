package virtio

import "github.com/popek-vm/popek/mem"

// Device is a virtio device model behind a transport. Except where noted the
// transport calls it with its own lock held, never concurrently with itself,
// and never while the worker runs Notify.
type Device interface {
	// Type is the virtio device ID (DeviceBlock, DeviceConsole, ...).
	Type() uint32
	// Features are the device-type feature bits the device offers. The
	// transport adds FeatureVersion1, FeatureIndirectDesc and FeatureEventIdx.
	// The value must not change over the device's life.
	Features() uint64
	// QueueSizes gives the maximum size of every virtqueue that exists under
	// the accepted features; its length is the number of queues (at most
	// MaxQueues). Sizes must be powers of two no larger than MaxQueueSize.
	// It must be a pure function of features: it may run at any time.
	QueueSizes(features uint64) []uint16

	// ReadConfig fills p from device config space at off. Bytes past the end
	// of the config space read as zero. WriteConfig stores p at off; fields the
	// driver may not write ignore it. Both may run on any hart goroutine,
	// concurrently with Notify, so the device guards its config itself.
	ReadConfig(off uint64, p []byte)
	WriteConfig(off uint64, p []byte)

	// Attach gives the device its transport, once, from NewMMIO.
	Attach(h Host)
	// Activate runs when the driver sets DRIVER_OK, with the accepted
	// features and one Queue per entry of QueueSizes(features), enabled or
	// not. It also runs after RestoreState of an active transport, so it must
	// keep the state UnmarshalState restored. An error sets
	// DEVICE_NEEDS_RESET.
	Activate(features uint64, queues []*Queue) error
	// Notify runs on the worker goroutine when the driver notifies q or the
	// device kicked it. It should serve what is available and return; Pop
	// returns false early when the transport wants to stop.
	Notify(q *Queue)
	// Reset returns the device to its just-constructed state: the driver
	// wrote 0 to Status. The Queues given to Activate are no longer valid.
	Reset()

	// MarshalState and UnmarshalState carry the device model's own state
	// (each device also has a typed SaveState/RestoreState pair) inside
	// MMIOState. They run with the worker stopped.
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error

	// Close releases host resources (files). The worker is stopped.
	Close() error
}

// Host is the transport as a device sees it. Its methods are safe to call
// from any goroutine, including the worker.
type Host interface {
	// Kick schedules Notify for queue index q as if the driver had notified
	// it, e.g. when console input arrives.
	Kick(q int)
	// ConfigChanged records a change of config space: it bumps
	// ConfigGeneration and, once the driver is running, raises the
	// configuration change interrupt.
	ConfigChanged()
	// RAM is the guest memory the device's queues live in, for devices
	// built before the machine created it (NewBalloon(nil)).
	RAM() *mem.RAM
}
