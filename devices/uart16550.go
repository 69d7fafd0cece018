package devices

import (
	"fmt"
	"io"
	"sync"
)

// UART16550 is an NS16550A serial port as on QEMU's virt board (reg-shift 0:
// one byte-wide register per offset, any access size reads or writes the
// low byte). Transmission is synchronous, so THR is always empty; the
// receive FIFO is deeper than the chip's 16 bytes so pasted input is not
// lost while the guest drains it.
type UART16550 struct {
	mu    sync.Mutex
	irq   IRQ
	out   io.Writer
	tx    [1]byte // reused so a transmitted byte does not allocate
	level bool    // last level driven on irq

	ier, lcr, mcr, msr, scr, fcr, dll, dlm uint8
	lsrErr                                 uint8 // OE, PE, FE, BI; DR/THRE/TEMT are derived
	thrPending                             bool  // THR-empty interrupt not yet acknowledged

	rx     [UARTRXFIFOSize]byte
	rxHead int
	rxLen  int
}

// UARTRXFIFOSize is the receive FIFO depth while FIFOs are enabled.
const UARTRXFIFOSize = 4096

// Register offsets.
const (
	uartRBR = 0 // read: receive buffer; write: THR; DLL while DLAB
	uartIER = 1 // DLM while DLAB
	uartIIR = 2 // read: IIR; write: FCR
	uartLCR = 3
	uartMCR = 4
	uartLSR = 5
	uartMSR = 6
	uartSCR = 7
)

// Register bits.
const (
	ierRDI  = 0x01 // received data available
	ierTHRI = 0x02 // THR empty
	ierRLSI = 0x04 // receiver line status
	ierMSI  = 0x08 // modem status

	iirNoInt = 0x01
	iirMSI   = 0x00
	iirTHRI  = 0x02
	iirRDI   = 0x04
	iirRLSI  = 0x06
	iirCTI   = 0x0c // character timeout
	iirFIFO  = 0xc0 // FIFOs enabled

	fcrFE      = 0x01
	fcrRFR     = 0x02 // clear RX FIFO
	fcrXFR     = 0x04 // clear TX FIFO
	fcrStored  = 0xc9 // bits that read back through IIR/state: FE, DMA mode, trigger
	fcrTrigger = 0xc0

	lcrDLAB = 0x80

	mcrOUT2 = 0x08
	mcrLoop = 0x10

	lsrDR     = 0x01
	lsrOE     = 0x02
	lsrBI     = 0x10
	lsrTHRE   = 0x20
	lsrTEMT   = 0x40
	lsrErrors = 0x1e // OE, PE, FE, BI: raise the line-status interrupt

	msrDelta = 0x0f
	msrReset = 0xb0 // DCD, DSR, CTS asserted, as QEMU reports
)

// UART16550State is the UART's serialisable state.
type UART16550State struct {
	IER, LCR, MCR, MSR, SCR, FCR, DLL, DLM uint8
	LSR                                    uint8 // as read, without side effects
	THRPending                             bool
	RX                                     []byte // unread received bytes, oldest first
}

// NewUART16550 returns a UART in its reset state. Transmitted bytes go to
// out (nil discards them); irq is its interrupt line (nil for none).
func NewUART16550(irq IRQ, out io.Writer) *UART16550 {
	if irq == nil {
		irq = noIRQ{}
	}
	if out == nil {
		out = io.Discard
	}
	return &UART16550{irq: irq, out: out, mcr: mcrOUT2, msr: msrReset, dll: 0x0c}
}

// noIRQ is the line of a device wired to nothing.
type noIRQ struct{}

func (noIRQ) SetLevel(bool) {}

// Input queues host bytes for the guest to read and returns how many were
// accepted; the caller retries the rest once the guest has drained the
// FIFO. It never blocks. In loopback mode the receiver is disconnected.
func (u *UART16550) Input(p []byte) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.mcr&mcrLoop != 0 {
		return 0
	}
	n := 0
	for n < len(p) && u.pushRX(p[n]) {
		n++
	}
	if n > 0 {
		u.updateIRQ()
	}
	return n
}

// Read implements Device.
func (u *UART16550) Read(off uint64, size int) uint64 {
	if off > uartSCR {
		return 0
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	dlab := u.lcr&lcrDLAB != 0
	switch off {
	case uartRBR:
		if dlab {
			return uint64(u.dll)
		}
		return uint64(u.popRX())
	case uartIER:
		if dlab {
			return uint64(u.dlm)
		}
		return uint64(u.ier)
	case uartIIR:
		id := u.interruptID()
		if id == iirTHRI {
			// Reading IIR acknowledges THR empty (8250 behaviour).
			u.thrPending = false
			u.updateIRQ()
		}
		return uint64(id | u.fifoBits())
	case uartLCR:
		return uint64(u.lcr)
	case uartMCR:
		return uint64(u.mcr)
	case uartLSR:
		v := u.lsr()
		if u.lsrErr&(lsrBI|lsrOE) != 0 {
			u.lsrErr &^= lsrBI | lsrOE
			u.updateIRQ()
		}
		return uint64(v)
	case uartMSR:
		if u.mcr&mcrLoop != 0 {
			// Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
			m := u.mcr
			return uint64((m&0x0c)<<4 | (m&0x02)<<3 | (m&0x01)<<5)
		}
		v := u.msr
		if u.msr&msrDelta != 0 {
			u.msr &^= msrDelta
			u.updateIRQ()
		}
		return uint64(v)
	default: // uartSCR
		return uint64(u.scr)
	}
}

// Write implements Device.
func (u *UART16550) Write(off uint64, size int, val uint64) {
	if off > uartSCR {
		return
	}
	v := uint8(val)
	u.mu.Lock()
	defer u.mu.Unlock()
	dlab := u.lcr&lcrDLAB != 0
	switch off {
	case uartRBR:
		if dlab {
			u.dll = v
			return
		}
		u.transmit(v)
	case uartIER:
		if dlab {
			u.dlm = v
			return
		}
		changed := (u.ier ^ v) & 0x0f
		u.ier = v & 0x0f
		if changed&ierTHRI != 0 {
			// Enabling ETBEI while THR is empty (always, here) raises the
			// interrupt even if an earlier IIR read acknowledged it; Linux's
			// THRE test and TX start rely on this.
			u.thrPending = u.ier&ierTHRI != 0
		}
	case uartIIR:
		u.writeFCR(v)
	case uartLCR:
		u.lcr = v
	case uartMCR:
		u.mcr = v & 0x1f
	case uartSCR:
		u.scr = v
	}
	// LSR and MSR are read-only.
	u.updateIRQ()
}

func (u *UART16550) writeFCR(v uint8) {
	if (v^u.fcr)&fcrFE != 0 {
		v |= fcrRFR | fcrXFR // toggling FIFO mode flushes both FIFOs
	}
	if v&fcrRFR != 0 {
		u.rxHead, u.rxLen = 0, 0
		u.lsrErr &^= lsrBI
	}
	if v&fcrXFR != 0 {
		u.thrPending = u.ier&ierTHRI != 0
	}
	u.fcr = v & fcrStored
}

// transmit sends a byte; it leaves THR empty at once.
func (u *UART16550) transmit(b byte) {
	if u.mcr&mcrLoop != 0 {
		if !u.pushRX(b) {
			u.lsrErr |= lsrOE
			if u.fcr&fcrFE == 0 {
				u.rx[u.rxHead] = b // the holding register is overwritten
			}
		}
	} else {
		u.tx[0] = b
		_, _ = u.out.Write(u.tx[:]) // a failing console must not stop the guest
	}
	u.thrPending = u.ier&ierTHRI != 0
}

// rxCap is the receiver depth: the FIFO, or the single holding register.
func (u *UART16550) rxCap() int {
	if u.fcr&fcrFE != 0 {
		return UARTRXFIFOSize
	}
	return 1
}

func (u *UART16550) pushRX(b byte) bool {
	if u.rxLen >= u.rxCap() {
		return false
	}
	u.rx[(u.rxHead+u.rxLen)%UARTRXFIFOSize] = b
	u.rxLen++
	return true
}

func (u *UART16550) popRX() byte {
	if u.rxLen == 0 {
		return 0
	}
	b := u.rx[u.rxHead]
	u.rxHead = (u.rxHead + 1) % UARTRXFIFOSize
	u.rxLen--
	if u.rxLen == 0 {
		u.lsrErr &^= lsrBI
	}
	u.updateIRQ()
	return b
}

func (u *UART16550) lsr() uint8 {
	v := u.lsrErr | lsrTHRE | lsrTEMT
	if u.rxLen > 0 {
		v |= lsrDR
	}
	return v
}

func (u *UART16550) fifoBits() uint8 {
	if u.fcr&fcrFE != 0 {
		return iirFIFO
	}
	return 0
}

// triggerLevel is the RX FIFO fill that raises "data available".
func triggerLevel(fcr uint8) int {
	switch fcr & fcrTrigger {
	case 0x00:
		return 1
	case 0x40:
		return 4
	case 0x80:
		return 8
	default:
		return 14
	}
}

// interruptID is the highest-priority pending interrupt, IIR bits 0-3.
// Below the FIFO trigger level the character timeout is reported at once:
// there is no line timing to wait for.
func (u *UART16550) interruptID() uint8 {
	switch {
	case u.ier&ierRLSI != 0 && u.lsrErr&lsrErrors != 0:
		return iirRLSI
	case u.ier&ierRDI != 0 && u.rxLen > 0:
		if u.fcr&fcrFE != 0 && u.rxLen < triggerLevel(u.fcr) {
			return iirCTI
		}
		return iirRDI
	case u.ier&ierTHRI != 0 && u.thrPending:
		return iirTHRI
	case u.ier&ierMSI != 0 && u.msr&msrDelta != 0:
		return iirMSI
	}
	return iirNoInt
}

// updateIRQ drives the line to match the state. The line ignores MCR.OUT2,
// as QEMU's virt board does.
func (u *UART16550) updateIRQ() {
	if level := u.interruptID() != iirNoInt; level != u.level {
		u.level = level
		u.irq.SetLevel(level)
	}
}

// SaveState returns a copy of the UART's state.
func (u *UART16550) SaveState() UART16550State {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := UART16550State{
		IER: u.ier, LCR: u.lcr, MCR: u.mcr, MSR: u.msr, SCR: u.scr,
		FCR: u.fcr, DLL: u.dll, DLM: u.dlm, LSR: u.lsr(),
		THRPending: u.thrPending,
		RX:         make([]byte, u.rxLen),
	}
	for i := range s.RX {
		s.RX[i] = u.rx[(u.rxHead+i)%UARTRXFIFOSize]
	}
	return s
}

// RestoreState replaces the UART's state and drives its line to match.
func (u *UART16550) RestoreState(s UART16550State) error {
	limit := 1
	if s.FCR&fcrFE != 0 {
		limit = UARTRXFIFOSize
	}
	if len(s.RX) > limit {
		return fmt.Errorf("uart16550: %d received bytes exceed receiver depth %d", len(s.RX), limit)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ier, u.lcr, u.mcr, u.msr, u.scr = s.IER&0x0f, s.LCR, s.MCR&0x1f, s.MSR, s.SCR
	u.fcr, u.dll, u.dlm = s.FCR&fcrStored, s.DLL, s.DLM
	u.lsrErr = s.LSR & lsrErrors
	u.thrPending = s.THRPending
	u.rxHead, u.rxLen = 0, copy(u.rx[:], s.RX)
	u.level = u.interruptID() != iirNoInt
	u.irq.SetLevel(u.level)
	return nil
}
