package board

import (
	"io"
	"time"
)

// Console is the guest's serial console input side.
type Console struct {
	m *Machine
}

// inputRetry is how long Write waits for the guest to drain the UART FIFO.
const inputRetry = time.Millisecond

// Write feeds p to the UART receiver, waiting while its FIFO is full. It
// returns io.ErrClosedPipe once the machine has stopped.
func (c *Console) Write(p []byte) (int, error) {
	n := 0
	for {
		n += c.m.uart.Input(p[n:])
		if n == len(p) {
			return n, nil
		}
		if c.m.stopping() {
			return n, io.ErrClosedPipe
		}
		time.Sleep(inputRetry)
	}
}

func (m *Machine) stopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exit != nil || m.closed
}
