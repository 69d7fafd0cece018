package virtio

import (
	"encoding/binary"
	"io"
	"sync"
)

// Console feature bits and queue numbers (single port, no MULTIPORT).
const (
	ConsoleFSize = 1 << 0 // VIRTIO_CONSOLE_F_SIZE: cols/rows in config

	consoleRxQueue = 0 // receiveq: host to guest
	consoleTxQueue = 1 // transmitq: guest to host

	// consoleMaxPending bounds input buffered while the guest reads none.
	consoleMaxPending = 1 << 20
)

// Console is the virtio console (device ID 3) with one port: guest output
// goes to an io.Writer, host input is queued with Input.
type Console struct {
	out  io.Writer
	host Host // set by Attach under mu
	// sock is the host side when it is a ConsoleSocket; ownSock: Close
	// closes it (NewSocketConsole).
	sock    *ConsoleSocket
	ownSock bool

	mu      sync.Mutex // guards everything below
	cols    uint16
	rows    uint16
	pending []byte // input not yet delivered to the guest
	dropped uint64 // input bytes lost because pending was full
	rx, tx  *Queue

	txIov [][]byte // worker only
}

// ConsoleState is the console's serialisable state.
type ConsoleState struct {
	Cols, Rows uint16
	Pending    []byte
	Dropped    uint64
}

// NewConsole returns a console writing guest output to out. Output is
// written on the device's worker goroutine; a blocking out stalls only the
// console.
func NewConsole(out io.Writer) *Console { return &Console{out: out, cols: 80, rows: 25} }

// Input queues bytes for the guest to read. Beyond 1 MiB of unread input
// further bytes are dropped (counted by Dropped).
func (c *Console) Input(p []byte) {
	c.mu.Lock()
	room := max(consoleMaxPending-len(c.pending), 0)
	take := min(room, len(p))
	c.pending = append(c.pending, p[:take]...)
	c.dropped += uint64(len(p) - take)
	host := c.host
	c.mu.Unlock()
	if host != nil {
		host.Kick(consoleRxQueue)
	}
}

// Dropped counts input bytes discarded because the guest was not reading.
func (c *Console) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// SetSize changes the terminal size the guest sees.
func (c *Console) SetSize(cols, rows uint16) {
	c.mu.Lock()
	c.cols, c.rows = cols, rows
	host := c.host
	c.mu.Unlock()
	if host != nil {
		host.ConfigChanged()
	}
}

func (c *Console) Type() uint32               { return DeviceConsole }
func (c *Console) Features() uint64           { return ConsoleFSize }
func (c *Console) QueueSizes(uint64) []uint16 { return []uint16{128, 128} }

// Attach takes mu: input may already arrive from a socket that outlives
// the device (popek run's console across reboots), on another goroutine.
func (c *Console) Attach(h Host) {
	c.mu.Lock()
	c.host = h
	c.mu.Unlock()
}
func (c *Console) WriteConfig(uint64, []byte) {}

// Close detaches the console from its socket, and closes the socket if
// the console owns it.
func (c *Console) Close() error {
	if c.sock == nil {
		return nil
	}
	c.sock.detach(c)
	if c.ownSock {
		return c.sock.Close()
	}
	return nil
}

// Socket is the console's host side when it is a ConsoleSocket, else nil.
func (c *Console) Socket() *ConsoleSocket { return c.sock }

// Commit ends the takeover of a console made by NewSocketConsoleTakeover
// (see ConsoleSocket.Commit); otherwise it does nothing.
func (c *Console) Commit() error {
	if !c.ownSock {
		return nil
	}
	return c.sock.Commit()
}

// ReadConfig serves struct virtio_console_config: cols, rows, max_nr_ports,
// emerg_wr. Only cols and rows are meaningful without MULTIPORT/EMERG_WRITE.
func (c *Console) ReadConfig(off uint64, p []byte) {
	var cfg [12]byte
	c.mu.Lock()
	binary.LittleEndian.PutUint16(cfg[0:], c.cols)
	binary.LittleEndian.PutUint16(cfg[2:], c.rows)
	c.mu.Unlock()
	readConfigBytes(cfg[:], off, p)
}

func (c *Console) Activate(_ uint64, queues []*Queue) error {
	c.mu.Lock()
	c.rx, c.tx = queues[consoleRxQueue], queues[consoleTxQueue]
	c.mu.Unlock()
	return nil
}

// Reset forgets the queues. Pending input is host data, not device state,
// so it survives for the next driver.
func (c *Console) Reset() {
	c.mu.Lock()
	c.rx, c.tx = nil, nil
	c.mu.Unlock()
}

func (c *Console) Notify(q *Queue) {
	switch q.Index() {
	case consoleRxQueue:
		c.deliver(q)
	case consoleTxQueue:
		c.transmit(q)
	}
}

// deliver copies pending input into receive buffers while both exist.
func (c *Console) deliver(q *Queue) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > 0 {
		ch, ok := q.Pop()
		if !ok {
			return
		}
		n := ch.WriteAt(c.pending, 0)
		c.pending = c.pending[n:]
		q.Push(ch, uint64(n))
	}
	c.pending = nil // let the delivered backing array go
}

// transmit writes every transmit buffer to out, straight from guest memory.
func (c *Console) transmit(q *Queue) {
	for {
		ch, ok := q.Pop()
		if !ok {
			return
		}
		c.txIov = ch.Slices(false, 0, ch.Readable(), c.txIov[:0])
		for _, b := range c.txIov {
			c.out.Write(b) // a failing terminal must not stall the guest
		}
		q.Push(ch, 0)
	}
}

// SaveState captures the console.
func (c *Console) SaveState() ConsoleState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ConsoleState{Cols: c.cols, Rows: c.rows, Pending: append([]byte(nil), c.pending...), Dropped: c.dropped}
}

// RestoreState replaces the console state.
func (c *Console) RestoreState(s ConsoleState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cols, c.rows, c.dropped = s.Cols, s.Rows, s.Dropped
	c.pending = append([]byte(nil), s.Pending...)
	return nil
}

func (c *Console) MarshalState() ([]byte, error) { return encodeState(c.SaveState()) }

func (c *Console) UnmarshalState(b []byte) error {
	var s ConsoleState
	if err := decodeState(b, &s); err != nil {
		return err
	}
	return c.RestoreState(s)
}
