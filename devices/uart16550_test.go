package devices

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeIRQ records the level a device drives on its line.
type fakeIRQ struct {
	mu    sync.Mutex
	level bool
	calls int
}

func (f *fakeIRQ) SetLevel(high bool) {
	f.mu.Lock()
	f.level = high
	f.calls++
	f.mu.Unlock()
}

func (f *fakeIRQ) High() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.level
}

// uartStep is one access in a UART scenario. For reads val is the expected
// value; for input it is the expected number of bytes accepted.
type uartStep struct {
	op  byte // 'r' read, 'w' write, 'i' host input
	off uint64
	val uint64
	in  string
	irq bool // expected line level after the step
}

func runUARTSteps(t *testing.T, u *UART16550, irq *fakeIRQ, steps []uartStep) {
	t.Helper()
	for i, s := range steps {
		switch s.op {
		case 'r':
			if got := u.Read(s.off, 1); got != s.val {
				t.Fatalf("step %d: read %d = %#x, want %#x", i, s.off, got, s.val)
			}
		case 'w':
			u.Write(s.off, 1, s.val)
		case 'i':
			if got := u.Input([]byte(s.in)); uint64(got) != s.val {
				t.Fatalf("step %d: Input(%q) accepted %d, want %d", i, s.in, got, s.val)
			}
		}
		if irq.High() != s.irq {
			t.Fatalf("step %d (%c %d %#x): irq = %v, want %v", i, s.op, s.off, s.val, irq.High(), s.irq)
		}
	}
}

func rd(off, want uint64, irq bool) uartStep { return uartStep{op: 'r', off: off, val: want, irq: irq} }
func wr(off, val uint64, irq bool) uartStep  { return uartStep{op: 'w', off: off, val: val, irq: irq} }
func feed(s string, accepted uint64, irq bool) uartStep {
	return uartStep{op: 'i', in: s, val: accepted, irq: irq}
}

func TestUARTScenarios(t *testing.T) {
	tests := []struct {
		name    string
		steps   []uartStep
		wantOut string
	}{
		{"reset values", []uartStep{
			rd(uartIER, 0, false), rd(uartIIR, 0x01, false), rd(uartLCR, 0, false),
			rd(uartMCR, 0x08, false), rd(uartLSR, 0x60, false), rd(uartMSR, 0xb0, false),
			rd(uartSCR, 0, false), rd(uartRBR, 0, false), rd(8, 0, false), rd(0xff, 0, false),
		}, ""},
		{"divisor latch", []uartStep{
			wr(uartLCR, 0x83, false), wr(uartRBR, 0x01, false), wr(uartIER, 0x02, false),
			rd(uartRBR, 0x01, false), rd(uartIER, 0x02, false),
			wr(uartLCR, 0x03, false), rd(uartIER, 0, false), rd(uartLCR, 0x03, false),
			wr(uartSCR, 0x5a, false), rd(uartSCR, 0x5a, false),
		}, ""},
		{"linux THRE test without FIFO", []uartStep{
			wr(uartIER, ierTHRI, true), rd(uartIIR, 0x02, false), rd(uartIIR, 0x01, false),
			wr(uartIER, 0, false), wr(uartIER, ierTHRI, true), rd(uartIIR, 0x02, false),
			wr(uartIER, 0, false),
		}, ""},
		{"linux THRE test with FIFO", []uartStep{
			wr(uartIIR, 0x07, false), rd(uartIIR, 0xc1, false),
			wr(uartIER, ierTHRI, true), rd(uartIIR, 0xc2, false), rd(uartIIR, 0xc1, false),
			wr(uartIER, 0, false), wr(uartIER, ierTHRI, true), rd(uartIIR, 0xc2, false),
		}, ""},
		{"transmit start and stop", []uartStep{
			wr(uartRBR, 'a', false), // ETBEI off: no interrupt
			wr(uartIER, ierTHRI, true), rd(uartIIR, 0x02, false),
			wr(uartRBR, 'b', true), wr(uartRBR, 'c', true), rd(uartLSR, 0x60, true),
			rd(uartIIR, 0x02, false), wr(uartIER, 0, false),
			wr(uartIER, ierTHRI|ierRDI, true), wr(uartIER, ierRDI, false),
		}, "abc"},
		{"FIFO clear on THR side re-raises THRE", []uartStep{
			wr(uartIER, ierTHRI, true), rd(uartIIR, 0x02, false), wr(uartIIR, fcrXFR, true),
		}, ""},
		{"receive without FIFO", []uartStep{
			feed("ab", 1, false), rd(uartLSR, 0x61, false), wr(uartIER, ierRDI, true),
			rd(uartIIR, 0x04, true), feed("b", 0, true), rd(uartRBR, 'a', false),
			rd(uartLSR, 0x60, false), feed("b", 1, true), rd(uartRBR, 'b', false),
			rd(uartRBR, 0, false),
		}, ""},
		{"receive FIFO trigger level and timeout", []uartStep{
			wr(uartIIR, 0x81, false), wr(uartIER, ierRDI, false),
			feed("abc", 3, true), rd(uartIIR, 0xcc, true), feed("defgh", 5, true), rd(uartIIR, 0xc4, true),
			rd(uartRBR, 'a', true), rd(uartIIR, 0xcc, true),
			rd(uartRBR, 'b', true), rd(uartRBR, 'c', true), rd(uartRBR, 'd', true),
			rd(uartRBR, 'e', true), rd(uartRBR, 'f', true), rd(uartRBR, 'g', true),
			rd(uartLSR, 0x61, true), rd(uartRBR, 'h', false), rd(uartLSR, 0x60, false),
			rd(uartIIR, 0xc1, false),
		}, ""},
		{"RX FIFO clear", []uartStep{
			wr(uartIIR, 0x01, false), wr(uartIER, ierRDI, false), feed("xyz", 3, true),
			wr(uartIIR, 0x03, false), rd(uartLSR, 0x60, false), rd(uartIIR, 0xc1, false),
		}, ""},
		{"toggling FIFO mode flushes", []uartStep{
			wr(uartIIR, 0x01, false), feed("xyz", 3, false), rd(uartLSR, 0x61, false),
			wr(uartIIR, 0x00, false), rd(uartLSR, 0x60, false), rd(uartIIR, 0x01, false),
		}, ""},
		{"loopback modem lines and disconnected input", []uartStep{
			wr(uartMCR, 0x1a, false), rd(uartMSR, 0x90, false), wr(uartMCR, 0x1f, false),
			rd(uartMSR, 0xf0, false), rd(uartMCR, 0x1f, false), feed("q", 0, false),
			wr(uartMCR, 0x08, false), rd(uartMSR, 0xb0, false),
		}, ""},
		{"loopback overrun and interrupt priority", []uartStep{
			wr(uartMCR, mcrLoop, false), wr(uartRBR, 'x', false), wr(uartRBR, 'y', false),
			wr(uartIER, ierRLSI|ierRDI|ierTHRI, true), rd(uartIIR, 0x06, true),
			rd(uartLSR, 0x63, true), // OE reported once, then cleared
			rd(uartLSR, 0x61, true), rd(uartIIR, 0x04, true),
			rd(uartRBR, 'y', true), // the holding register was overwritten
			rd(uartIIR, 0x02, false), rd(uartIIR, 0x01, false),
		}, ""},
		{"loopback with FIFO keeps order", []uartStep{
			wr(uartIIR, 0x01, false), wr(uartMCR, mcrLoop, false),
			wr(uartRBR, '1', false), wr(uartRBR, '2', false),
			rd(uartRBR, '1', false), rd(uartRBR, '2', false), rd(uartLSR, 0x60, false),
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			irq := &fakeIRQ{}
			var out bytes.Buffer
			u := NewUART16550(irq, &out)
			runUARTSteps(t, u, irq, tc.steps)
			if out.String() != tc.wantOut {
				t.Fatalf("output %q, want %q", out.String(), tc.wantOut)
			}
		})
	}
}

func TestUARTWideAccessUsesLowByte(t *testing.T) {
	var out bytes.Buffer
	u := NewUART16550(nil, &out)
	u.Write(uartRBR, 4, 0x12345641)
	u.Write(uartSCR, 8, 0xffffffffffffff77)
	if out.String() != "A" {
		t.Fatalf("output %q, want %q", out.String(), "A")
	}
	if got := u.Read(uartSCR, 4); got != 0x77 {
		t.Fatalf("SCR = %#x, want 0x77", got)
	}
}

func TestUARTFIFOOverflow(t *testing.T) {
	irq := &fakeIRQ{}
	u := NewUART16550(irq, nil)
	u.Write(uartIIR, 1, fcrFE)
	data := make([]byte, UARTRXFIFOSize+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if n := u.Input(data); n != UARTRXFIFOSize {
		t.Fatalf("accepted %d, want %d", n, UARTRXFIFOSize)
	}
	if n := u.Input(data[UARTRXFIFOSize:]); n != 0 {
		t.Fatalf("full FIFO accepted %d", n)
	}
	if got := u.Read(uartRBR, 1); got != uint64(data[0]) {
		t.Fatalf("first byte %#x, want %#x", got, data[0])
	}
	if n := u.Input(data[UARTRXFIFOSize:]); n != 1 {
		t.Fatalf("after one read accepted %d, want 1", n)
	}
	for i := 1; i <= UARTRXFIFOSize; i++ {
		if u.Read(uartLSR, 1)&lsrDR == 0 {
			t.Fatalf("DR clear after %d bytes", i)
		}
		if got := u.Read(uartRBR, 1); got != uint64(data[i]) {
			t.Fatalf("byte %d = %#x, want %#x", i, got, data[i])
		}
	}
	if lsr := u.Read(uartLSR, 1); lsr != lsrTHRE|lsrTEMT {
		t.Fatalf("LSR after drain = %#x (input overflow must not set OE)", lsr)
	}
}

// uartInState drives a UART into a state with every field non-trivial.
func uartInState(u *UART16550) {
	u.Write(uartLCR, 1, 0x83)
	u.Write(uartRBR, 1, 0x34)
	u.Write(uartIER, 1, 0x12)
	u.Write(uartLCR, 1, 0x1b)
	u.Write(uartIIR, 1, 0x41)
	u.Write(uartSCR, 1, 0xa5)
	u.Write(uartIER, 1, ierRDI|ierTHRI|ierRLSI)
	u.Input([]byte("hello"))
	u.Read(uartRBR, 1)
	u.Write(uartMCR, 1, 0x0b)
}

func TestUARTSaveRestore(t *testing.T) {
	src := NewUART16550(&fakeIRQ{}, nil)
	uartInState(src)
	saved := src.SaveState()

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(saved); err != nil {
		t.Fatal(err)
	}
	var decoded UART16550State
	if err := gob.NewDecoder(&buf).Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	irq := &fakeIRQ{}
	dst := NewUART16550(irq, nil)
	if err := dst.RestoreState(decoded); err != nil {
		t.Fatal(err)
	}
	if got := dst.SaveState(); !reflect.DeepEqual(got, saved) {
		t.Fatalf("restored state %+v, want %+v", got, saved)
	}
	if !irq.High() {
		t.Fatal("restore did not drive the pending interrupt")
	}
	for off := uint64(0); off < 8; off++ {
		if a, b := src.Read(off, 1), dst.Read(off, 1); a != b {
			t.Fatalf("register %d: original %#x, restored %#x", off, a, b)
		}
	}
}

func TestUARTRestoreRejectsOversizedFIFO(t *testing.T) {
	tests := []struct {
		name string
		s    UART16550State
	}{
		{"no FIFO", UART16550State{RX: []byte("ab")}},
		{"FIFO", UART16550State{FCR: fcrFE, RX: make([]byte, UARTRXFIFOSize+1)}},
	}
	for _, tc := range tests {
		if err := NewUART16550(nil, nil).RestoreState(tc.s); err == nil {
			t.Errorf("%s: restore accepted %d bytes", tc.name, len(tc.s.RX))
		}
	}
}

// TestUARTConcurrent runs a transmitting hart, a receiving hart and the
// console pump at once; run with -race.
func TestUARTConcurrent(t *testing.T) {
	const n = 2000
	var out bytes.Buffer // written only under the UART's lock
	irq := &fakeIRQ{}
	u := NewUART16550(irq, &out)
	u.Write(uartIIR, 1, 0x07)
	u.Write(uartIER, 1, ierRDI|ierTHRI)

	var received atomic.Int64
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // transmitter
		defer wg.Done()
		for i := range n {
			u.Write(uartRBR, 1, uint64('a'+i%26))
			u.Read(uartIIR, 1)
		}
	}()
	go func() { // console pump
		defer wg.Done()
		msg := bytes.Repeat([]byte("z"), n)
		for len(msg) > 0 {
			msg = msg[u.Input(msg):]
		}
	}()
	go func() { // receiver
		defer wg.Done()
		for received.Load() < n {
			if u.Read(uartLSR, 1)&lsrDR != 0 {
				if u.Read(uartRBR, 1) != 'z' {
					t.Error("received a byte that was not sent")
					return
				}
				received.Add(1)
			}
		}
	}()
	wg.Wait()
	if out.Len() != n {
		t.Fatalf("transmitted %d bytes, want %d", out.Len(), n)
	}
	if u.Read(uartLSR, 1)&lsrDR != 0 {
		t.Fatal("data left in the FIFO")
	}
}

func FuzzUARTRegisters(f *testing.F) {
	f.Add([]byte{1, 2, 0x07, 1, 1, 0x0f, 2, 0, 'a', 0, 5, 0, 0, 2, 0})
	f.Add([]byte{1, 4, 0x10, 1, 0, 'x', 1, 0, 'y', 1, 1, 0x07, 0, 2, 0, 0, 5, 0})
	f.Add([]byte{1, 3, 0x80, 1, 0, 0x01, 0, 0, 0, 1, 3, 0x03})
	f.Fuzz(func(t *testing.T, ops []byte) {
		irq := &fakeIRQ{}
		u := NewUART16550(irq, nil)
		sizes := [4]int{1, 2, 4, 8}
		for len(ops) >= 3 {
			kind, off, val := ops[0], uint64(ops[1]), uint64(ops[2])
			ops = ops[3:]
			switch kind % 4 {
			case 0:
				if off%8 == uartIIR {
					// The line must agree with what IIR reports.
					iir := u.Read(uartIIR, 1)
					if (iir&iirNoInt == 0) != irq.High() && iir&0x0f != iirTHRI {
						t.Fatalf("IIR %#x but line %v", iir, irq.High())
					}
					continue
				}
				u.Read(off, sizes[val%4])
			case 1:
				u.Write(off, sizes[kind/4%4], val)
			case 2:
				u.Input(bytes.Repeat([]byte{byte(val)}, int(off)))
			case 3:
				s := u.SaveState()
				if err := u.RestoreState(s); err != nil {
					t.Fatal(err)
				}
			}
			if lsr := u.Read(uartLSR, 1); lsr&(lsrTHRE|lsrTEMT) != lsrTHRE|lsrTEMT {
				t.Fatalf("THR not empty: LSR %#x", lsr)
			}
		}
	})
}
