package virtio

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/popek-vm/popek/devices"
	"github.com/popek-vm/popek/mem"
)

// MMIOSize is the size of one virtio-mmio register window.
const MMIOSize = 0x1000

// virtio-mmio version 2 register offsets.
const (
	regMagic            = 0x000
	regVersion          = 0x004
	regDeviceID         = 0x008
	regVendorID         = 0x00c
	regDeviceFeatures   = 0x010
	regDeviceFeatSel    = 0x014
	regDriverFeatures   = 0x020
	regDriverFeatSel    = 0x024
	regQueueSel         = 0x030
	regQueueNumMax      = 0x034
	regQueueNum         = 0x038
	regQueueReady       = 0x044
	regQueueNotify      = 0x050
	regInterruptStatus  = 0x060
	regInterruptAck     = 0x064
	regStatus           = 0x070
	regQueueDescLow     = 0x080
	regQueueDescHigh    = 0x084
	regQueueDriverLow   = 0x090
	regQueueDriverHigh  = 0x094
	regQueueDeviceLow   = 0x0a0
	regQueueDeviceHigh  = 0x0a4
	regSHMSel           = 0x0ac
	regSHMLenLow        = 0x0b0
	regSHMLenHigh       = 0x0b4
	regSHMBaseLow       = 0x0b8
	regSHMBaseHigh      = 0x0bc
	regConfigGeneration = 0x0fc
	regConfig           = 0x100

	mmioMagic   = 0x74726976 // "virt"
	mmioVersion = 2
	// VendorID is "QEMU", which guests already know.
	VendorID = 0x554d4551
)

// MMIO is the virtio-mmio transport for one device. It implements
// devices.Device over a MMIOSize window.
type MMIO struct {
	dev     Device
	ram     *mem.RAM
	irq     devices.IRQ
	offered uint64

	// mu serialises register writes and the lifecycle (reset, activation,
	// quiesce, snapshots). The worker never takes it, so holding it while
	// waiting for the worker is safe.
	mu          sync.Mutex
	status      uint32
	devFeatSel  uint32
	drvFeatSel  uint32
	drvFeatures uint64
	queueSel    uint32
	shmSel      uint32
	queues      []*Queue // built when FEATURES_OK is accepted
	activated   bool     // DRIVER_OK reached and Activate succeeded
	quiesced    bool
	closed      bool

	driverOK  atomic.Bool // mirrors status&DRIVER_OK for the worker
	broken    atomic.Bool // DEVICE_NEEDS_RESET
	lastErr   atomic.Pointer[error]
	configGen atomic.Uint32

	irqMu     sync.Mutex
	intStatus uint32

	w worker
}

// NewMMIO puts dev behind a virtio-mmio register window. irq is the PLIC
// source the device drives; ram is the guest memory its queues live in.
func NewMMIO(dev Device, ram *mem.RAM, irq devices.IRQ) *MMIO {
	m := &MMIO{dev: dev, ram: ram, irq: irq, offered: dev.Features() | transportFeatures}
	m.w.init()
	dev.Attach(m)
	return m
}

// Device returns the device model behind the transport.
func (m *MMIO) Device() Device { return m.dev }

// Err explains the last driver or ring error: why FEATURES_OK was refused
// or why the device entered DEVICE_NEEDS_RESET. Nil after a reset.
func (m *MMIO) Err() error {
	if p := m.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (m *MMIO) setErr(err error) { m.lastErr.Store(&err) }

// Read implements devices.Device. Control registers answer 32-bit accesses
// only; config space accepts 1, 2, 4 and 8 byte accesses.
func (m *MMIO) Read(off uint64, size int) uint64 {
	if off >= regConfig {
		return m.readConfig(off-regConfig, size)
	}
	if size != 4 || off%4 != 0 {
		return 0
	}
	return uint64(m.readReg(off))
}

// Write implements devices.Device.
func (m *MMIO) Write(off uint64, size int, val uint64) {
	if off >= regConfig {
		m.writeConfig(off-regConfig, size, val)
		return
	}
	if size != 4 || off%4 != 0 {
		return
	}
	m.writeReg(off, uint32(val))
}

func (m *MMIO) readConfig(off uint64, size int) uint64 {
	if !validConfigAccess(off, size) {
		return 0
	}
	var b [8]byte
	m.dev.ReadConfig(off, b[:size])
	return binary.LittleEndian.Uint64(b[:])
}

func (m *MMIO) writeConfig(off uint64, size int, val uint64) {
	if !validConfigAccess(off, size) {
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], val)
	m.dev.WriteConfig(off, b[:size])
}

func validConfigAccess(off uint64, size int) bool {
	switch size {
	case 1, 2, 4, 8:
		return off+uint64(size) <= MMIOSize-regConfig
	}
	return false
}

func (m *MMIO) readReg(off uint64) uint32 {
	switch off {
	case regMagic:
		return mmioMagic
	case regVersion:
		return mmioVersion
	case regDeviceID:
		return m.dev.Type()
	case regVendorID:
		return VendorID
	case regInterruptStatus:
		m.irqMu.Lock()
		defer m.irqMu.Unlock()
		return m.intStatus
	case regConfigGeneration:
		return m.configGen.Load()
	case regSHMLenLow, regSHMLenHigh, regSHMBaseLow, regSHMBaseHigh:
		return ^uint32(0) // no shared memory regions
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case regDeviceFeatures:
		if m.devFeatSel < 2 {
			return uint32(m.offered >> (32 * m.devFeatSel))
		}
	case regStatus:
		s := m.status
		if m.broken.Load() {
			s |= StatusDeviceNeedsReset
		}
		return s
	case regQueueNumMax:
		if q := m.selected(); q != nil {
			return uint32(q.maxSize)
		}
	case regQueueReady:
		if q := m.selected(); q != nil && q.regReady {
			return 1
		}
	}
	return 0
}

// selected is the queue QueueSel points at, or nil when none exists (also
// before FEATURES_OK, since the queue layout depends on the features).
func (m *MMIO) selected() *Queue {
	if m.queueSel < uint32(len(m.queues)) {
		return m.queues[m.queueSel]
	}
	return nil
}

func (m *MMIO) writeReg(off uint64, v uint32) {
	switch off {
	case regInterruptAck:
		m.ackInterrupt(v)
		return
	case regQueueNotify:
		m.w.notify(v)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case regDeviceFeatSel:
		m.devFeatSel = v
	case regDriverFeatSel:
		m.drvFeatSel = v
	case regDriverFeatures:
		// Features are frozen once FEATURES_OK is set.
		if m.drvFeatSel < 2 && m.status&StatusFeaturesOK == 0 {
			shift := 32 * m.drvFeatSel
			m.drvFeatures = m.drvFeatures&^(0xffffffff<<shift) | uint64(v)<<shift
		}
	case regQueueSel:
		m.queueSel = v
	case regSHMSel:
		m.shmSel = v
	case regStatus:
		m.writeStatus(v)
	case regQueueReady:
		m.writeQueueReady(v)
	case regQueueNum, regQueueDescLow, regQueueDescHigh, regQueueDriverLow,
		regQueueDriverHigh, regQueueDeviceLow, regQueueDeviceHigh:
		// The layout may only change while the queue is disabled.
		if q := m.selected(); q != nil && !q.regReady {
			setQueueReg(q, off, v)
		}
	}
}

func setQueueReg(q *Queue, off uint64, v uint32) {
	lo := func(a uint64) uint64 { return a&^0xffffffff | uint64(v) }
	hi := func(a uint64) uint64 { return a&0xffffffff | uint64(v)<<32 }
	switch off {
	case regQueueNum:
		q.size = 0 // an oversize queue fails validation at QueueReady
		if v <= MaxQueueSize {
			q.size = uint16(v)
		}
	case regQueueDescLow:
		q.desc = lo(q.desc)
	case regQueueDescHigh:
		q.desc = hi(q.desc)
	case regQueueDriverLow:
		q.avail = lo(q.avail)
	case regQueueDriverHigh:
		q.avail = hi(q.avail)
	case regQueueDeviceLow:
		q.used = lo(q.used)
	case regQueueDeviceHigh:
		q.used = hi(q.used)
	}
}

// writeStatus applies a driver status write. Drivers only add bits; zero
// resets. FEATURES_OK sticks only for features the device offered;
// DRIVER_OK activates the device.
func (m *MMIO) writeStatus(v uint32) {
	if v == 0 {
		m.reset()
		return
	}
	v &^= StatusDeviceNeedsReset
	old := m.status
	v |= old
	if v&StatusFeaturesOK != 0 && old&StatusFeaturesOK == 0 {
		if err := m.acceptFeatures(); err != nil {
			m.setErr(err)
			v &^= StatusFeaturesOK
		}
	}
	m.status = v
	if v&StatusDriverOK != 0 && old&StatusDriverOK == 0 {
		if v&StatusFeaturesOK == 0 {
			m.setBroken(fmt.Errorf("virtio: driver set DRIVER_OK without FEATURES_OK"))
			return
		}
		m.driverOK.Store(true)
		if err := m.dev.Activate(m.drvFeatures, m.queues); err != nil {
			m.setBroken(fmt.Errorf("virtio: activate device: %w", err))
			return
		}
		m.activated = true
		m.startWorker()
	}
}

// acceptFeatures checks the driver's feature choice and builds the queues
// that exist under it.
func (m *MMIO) acceptFeatures() error {
	if extra := m.drvFeatures &^ m.offered; extra != 0 {
		return fmt.Errorf("virtio: driver accepted features %#x the device did not offer", extra)
	}
	// A driver that never writes the high feature word (xv6 does this) has
	// not accepted VERSION_1. QEMU's modern virtio-mmio runs such a driver
	// anyway, with the same ring layout; devices whose buffer layout
	// depends on VERSION_1 refuse it in Activate.
	queues, err := m.buildQueues(m.drvFeatures)
	if err != nil {
		return err
	}
	m.queues = queues
	return nil
}

func (m *MMIO) buildQueues(features uint64) ([]*Queue, error) {
	sizes := m.dev.QueueSizes(features)
	if len(sizes) > MaxQueues {
		return nil, fmt.Errorf("virtio: device wants %d queues, more than %d", len(sizes), MaxQueues)
	}
	queues := make([]*Queue, len(sizes))
	for i, s := range sizes {
		if s == 0 || s > MaxQueueSize || s&(s-1) != 0 {
			return nil, fmt.Errorf("virtio: device queue %d max size %d is not a power of two up to %d", i, s, MaxQueueSize)
		}
		queues[i] = newQueue(i, s, m, m.ram, features)
	}
	return queues, nil
}

// writeQueueReady enables or disables the selected queue. The worker is
// paused around the change so it never sees a queue half-configured, and a
// disabled queue is no longer touched once the write returns.
func (m *MMIO) writeQueueReady(v uint32) {
	q := m.selected()
	if q == nil || (v&1 != 0) == q.regReady {
		return
	}
	running := m.stopWorker()
	q.regReady = v&1 != 0
	if q.regReady {
		if err := q.enable(); err != nil {
			m.setBroken(err)
		}
	} else {
		q.disable()
	}
	if running {
		m.startWorker()
	}
}

// reset returns the transport and device to their initial state.
func (m *MMIO) reset() {
	m.stopWorker()
	m.dev.Reset()
	m.status, m.devFeatSel, m.drvFeatSel, m.drvFeatures = 0, 0, 0, 0
	m.queueSel, m.shmSel = 0, 0
	m.queues = nil
	m.activated = false
	m.lastErr.Store(nil)
	m.driverOK.Store(false)
	m.broken.Store(false)
	m.w.pending.Store(0)
	m.irqMu.Lock()
	m.intStatus = 0
	m.irq.SetLevel(false)
	m.irqMu.Unlock()
}

// raise sets interrupt status bits and drives the line high.
func (m *MMIO) raise(bits uint32) {
	m.irqMu.Lock()
	m.intStatus |= bits
	m.irq.SetLevel(true)
	m.irqMu.Unlock()
}

func (m *MMIO) ackInterrupt(bits uint32) {
	m.irqMu.Lock()
	m.intStatus &^= bits
	m.irq.SetLevel(m.intStatus != 0)
	m.irqMu.Unlock()
}

// setBroken enters DEVICE_NEEDS_RESET and tells the driver through a config
// change interrupt, as the spec recommends. It runs on hart goroutines and on
// the worker alike.
func (m *MMIO) setBroken(err error) {
	if m.broken.Swap(true) {
		return
	}
	m.setErr(err)
	if m.driverOK.Load() {
		m.raise(InterruptConfig)
	}
}

// Kick implements Host.
func (m *MMIO) Kick(q int) {
	if q >= 0 && q < MaxQueues {
		m.w.notify(uint32(q))
	}
}

// RAM implements Host.
func (m *MMIO) RAM() *mem.RAM { return m.ram }

// ConfigChanged implements Host.
func (m *MMIO) ConfigChanged() {
	m.configGen.Add(1)
	if m.driverOK.Load() {
		m.raise(InterruptConfig)
	}
}

// halted, fail and usedBufferNotify implement queueOwner.
func (m *MMIO) halted() bool { return m.w.stop.Load() || m.broken.Load() }

func (m *MMIO) fail(err error) { m.setBroken(err) }

func (m *MMIO) usedBufferNotify() { m.raise(InterruptVring) }

// Close stops the worker and closes the device. The transport keeps
// answering register reads but never touches guest memory again.
func (m *MMIO) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopWorker()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.dev.Close()
}
