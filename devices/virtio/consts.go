package virtio

// Device types (VIRTIO 1.2 section 5).
const (
	DeviceNet     = 1
	DeviceBlock   = 2
	DeviceConsole = 3
	DeviceEntropy = 4
	DeviceBalloon = 5
	Device9P      = 9
	DeviceVsock   = 19
)

// Transport feature bits (VIRTIO 1.2 section 6).
const (
	FeatureIndirectDesc = 1 << 28 // VIRTIO_F_INDIRECT_DESC
	FeatureEventIdx     = 1 << 29 // VIRTIO_F_EVENT_IDX
	FeatureVersion1     = 1 << 32 // VIRTIO_F_VERSION_1
)

// transportFeatures are offered on top of every device's own features.
const transportFeatures = FeatureIndirectDesc | FeatureEventIdx | FeatureVersion1

// Device status bits (VIRTIO 1.2 section 2.1).
const (
	StatusAcknowledge      = 1
	StatusDriver           = 2
	StatusDriverOK         = 4
	StatusFeaturesOK       = 8
	StatusDeviceNeedsReset = 64
	StatusFailed           = 128
)

// InterruptStatus bits.
const (
	InterruptVring  = 1 << 0 // used buffer notification
	InterruptConfig = 1 << 1 // configuration change notification
)

// Split virtqueue descriptor flags and ring flags.
const (
	descFNext     = 1
	descFWrite    = 2
	descFIndirect = 4

	availFNoInterrupt = 1
)

// Limits that bound what a hostile driver can make the device do.
const (
	// MaxQueueSize is the largest split queue the spec allows.
	MaxQueueSize = 32768
	// MaxQueues is the most virtqueues one device may have.
	MaxQueues = 64
	// MaxIndirectDescriptors bounds one indirect table.
	MaxIndirectDescriptors = 1024
	// MaxChainBytes bounds the summed buffer length of one chain.
	MaxChainBytes = 1 << 30
)
