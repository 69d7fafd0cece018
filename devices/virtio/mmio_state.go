package virtio

import "fmt"

// MMIOState is the complete transport state plus the device model's own
// state, as plain data for snapshots and migration.
type MMIOState struct {
	DeviceType        uint32
	Status            uint32
	DeviceFeaturesSel uint32
	DriverFeaturesSel uint32
	DriverFeatures    uint64
	QueueSel          uint32
	SHMSel            uint32
	InterruptStatus   uint32
	ConfigGeneration  uint32
	NeedsReset        bool
	Activated         bool
	// Queues is empty until the driver's features were accepted.
	Queues []QueueState
	// Device is the device model's MarshalState output.
	Device []byte
}

// QueueState is one virtqueue: the registers the driver programmed and the
// indices the device keeps.
type QueueState struct {
	Size          uint16
	Ready         bool // QueueReady as the driver wrote it
	Live          bool // enabled with a valid layout
	Desc          uint64
	Driver        uint64
	Device        uint64
	LastAvail     uint16
	UsedIdx       uint16
	SignalledUsed uint16
	Pushed        bool
}

// SaveState captures the transport and device. For a consistent snapshot of
// a running guest, call it between Quiesce and Resume with the harts paused;
// it pauses the worker itself while copying either way.
func (m *MMIO) SaveState() MMIOState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopWorker() {
		defer m.startWorker()
	}
	s := MMIOState{
		DeviceType:        m.dev.Type(),
		Status:            m.status,
		DeviceFeaturesSel: m.devFeatSel,
		DriverFeaturesSel: m.drvFeatSel,
		DriverFeatures:    m.drvFeatures,
		QueueSel:          m.queueSel,
		SHMSel:            m.shmSel,
		ConfigGeneration:  m.configGen.Load(),
		NeedsReset:        m.broken.Load(),
		Activated:         m.activated,
	}
	m.irqMu.Lock()
	s.InterruptStatus = m.intStatus
	m.irqMu.Unlock()
	for _, q := range m.queues {
		s.Queues = append(s.Queues, QueueState{
			Size: q.size, Ready: q.regReady, Live: q.live,
			Desc: q.desc, Driver: q.avail, Device: q.used,
			LastAvail: q.lastAvail, UsedIdx: q.usedIdx,
			SignalledUsed: q.signalledUsed, Pushed: q.pushed,
		})
	}
	dev, err := m.dev.MarshalState()
	if err != nil {
		// Device states are plain structs; failing to encode one is a bug
		// in the device, and an empty blob makes RestoreState refuse it.
		dev = nil
	}
	s.Device = dev
	return s
}

// RestoreState replaces the transport and device state with s, which must
// come from a device of the same type and configuration. Guest RAM must be
// restored first: live queues are re-validated against it. On error nothing
// changes. A quiesced transport stays quiesced.
func (m *MMIO) RestoreState(s MMIOState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.DeviceType != m.dev.Type() {
		return fmt.Errorf("virtio: state is for device type %d, this is %d", s.DeviceType, m.dev.Type())
	}
	if s.Device == nil {
		return fmt.Errorf("virtio: state has no device part")
	}
	featuresOK := s.Status&StatusFeaturesOK != 0
	// Before FEATURES_OK DriverFeatures is only what the driver wrote; once
	// accepted it must be a subset of what this device offers.
	if featuresOK && s.DriverFeatures&^m.offered != 0 {
		return fmt.Errorf("virtio: state has features %#x this device does not offer", s.DriverFeatures&^m.offered)
	}
	if s.Activated && !featuresOK {
		return fmt.Errorf("virtio: state is active without FEATURES_OK")
	}
	var queues []*Queue
	if featuresOK {
		var err error
		if queues, err = m.buildQueues(s.DriverFeatures); err != nil {
			return err
		}
		if len(queues) != len(s.Queues) {
			return fmt.Errorf("virtio: state has %d queues, device has %d", len(s.Queues), len(queues))
		}
		for i, qs := range s.Queues {
			q := queues[i]
			q.size, q.regReady, q.desc, q.avail, q.used = qs.Size, qs.Ready, qs.Desc, qs.Driver, qs.Device
			if qs.Live {
				if err := q.enable(); err != nil {
					return fmt.Errorf("virtio: restore: %w", err)
				}
			}
			q.lastAvail, q.usedIdx, q.signalledUsed, q.pushed = qs.LastAvail, qs.UsedIdx, qs.SignalledUsed, qs.Pushed
		}
	} else if len(s.Queues) != 0 {
		return fmt.Errorf("virtio: state has queues before FEATURES_OK")
	}

	m.stopWorker()
	if err := m.dev.UnmarshalState(s.Device); err != nil {
		m.startWorker()
		return fmt.Errorf("virtio: restore device %d: %w", m.dev.Type(), err)
	}
	m.status = s.Status &^ StatusDeviceNeedsReset
	m.devFeatSel, m.drvFeatSel, m.drvFeatures = s.DeviceFeaturesSel, s.DriverFeaturesSel, s.DriverFeatures
	m.queueSel, m.shmSel = s.QueueSel, s.SHMSel
	m.queues = queues
	m.configGen.Store(s.ConfigGeneration)
	m.broken.Store(s.NeedsReset)
	m.lastErr.Store(nil)
	m.driverOK.Store(m.status&StatusDriverOK != 0)
	m.activated = false
	m.irqMu.Lock()
	m.intStatus = s.InterruptStatus
	m.irq.SetLevel(m.intStatus != 0)
	m.irqMu.Unlock()
	if s.Activated {
		if err := m.dev.Activate(m.drvFeatures, m.queues); err != nil {
			m.setBroken(fmt.Errorf("virtio: activate restored device: %w", err))
			return nil
		}
		m.activated = true
		m.startWorker()
	}
	return nil
}
