package virtio

import "crypto/rand"

// rngMaxRequest caps the bytes produced per request so one huge buffer
// cannot keep the worker busy; the driver simply asks again.
const rngMaxRequest = 64 << 10

// RNG is the entropy device (virtio-rng): it fills every device-writable
// buffer the driver posts with bytes from crypto/rand.
type RNG struct {
	host Host
	iov  [][]byte
}

// RNGState is empty: the device has no state beyond its queue.
type RNGState struct{}

// NewRNG returns an entropy device.
func NewRNG() *RNG { return &RNG{} }

func (r *RNG) Type() uint32                    { return DeviceEntropy }
func (r *RNG) Features() uint64                { return 0 }
func (r *RNG) QueueSizes(uint64) []uint16      { return []uint16{64} }
func (r *RNG) ReadConfig(off uint64, p []byte) { clear(p) }
func (r *RNG) WriteConfig(uint64, []byte)      {}
func (r *RNG) Attach(h Host)                   { r.host = h }
func (r *RNG) Activate(uint64, []*Queue) error { return nil }
func (r *RNG) Reset()                          {}
func (r *RNG) Close() error                    { return nil }
func (r *RNG) SaveState() RNGState             { return RNGState{} }
func (r *RNG) RestoreState(RNGState) error     { return nil }
func (r *RNG) MarshalState() ([]byte, error)   { return encodeState(r.SaveState()) }
func (r *RNG) UnmarshalState(b []byte) error {
	var s RNGState
	if err := decodeState(b, &s); err != nil {
		return err
	}
	return r.RestoreState(s)
}

// Notify serves the request queue.
func (r *RNG) Notify(q *Queue) {
	for {
		c, ok := q.Pop()
		if !ok {
			return
		}
		n := min(c.Writable(), rngMaxRequest)
		r.iov = c.Slices(true, 0, n, r.iov[:0])
		for _, b := range r.iov {
			rand.Read(b) // never fails on Linux (getrandom)
		}
		q.Push(c, n)
	}
}
