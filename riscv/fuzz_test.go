package riscv

import (
	"encoding/binary"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	for _, c := range decode32Cases {
		f.Add(c.word)
	}
	for _, c := range rvcCases {
		f.Add(uint32(c.c) | 0xdead0000)
	}
	f.Add(uint32(0))
	f.Add(^uint32(0))
	f.Fuzz(func(t *testing.T, word uint32) {
		a, b := decode(word), decode(word)
		if a != b {
			t.Fatalf("%#x decodes differently: %+v vs %+v", word, a, b)
		}
		if a.op >= numOps {
			t.Fatalf("%#x: op %d out of range", word, a.op)
		}
		if word&3 != 3 {
			if a.len != 2 || a.raw != word&0xffff {
				t.Fatalf("%#x: compressed len %d raw %#x", word, a.len, a.raw)
			}
			if e, ok := expandCompressed(uint16(word)); ok {
				if full := decode(e); full.op != a.op {
					t.Fatalf("%#x: expands to %#x with op %d, compressed op %d", word, e, full.op, a.op)
				}
			} else if a.op != opIllegal {
				t.Fatalf("%#x: reserved compressed encoding decoded as %d", word, a.op)
			}
		} else if a.len != 4 || a.raw != word {
			t.Fatalf("%#x: len %d raw %#x", word, a.len, a.raw)
		}
		if a.op != opIllegal && a.op != opNOP && a.rd == 0 && a.op.writesRdPure() {
			t.Fatalf("%#x: pure op writing x0 not turned into a NOP", word)
		}
	})
}

// FuzzExecute runs random instruction words from RAM in a random mode with
// random registers. It must never panic, never touch memory outside RAM
// and keep x0 zero.
func FuzzExecute(f *testing.F) {
	f.Add([]byte{0x13, 0, 0, 0}, uint8(3), uint64(0))
	f.Add(binary.LittleEndian.AppendUint32(nil, amo(f5SC, 3, a0, a1, a2)), uint8(1), uint64(ramBase+8))
	f.Add(binary.LittleEndian.AppendUint32(nil, csrw(csrSatp, a1)), uint8(3), uint64(9<<60|0x80000))
	f.Add([]byte{0x73, 0x00, 0x50, 0x10, 0x01, 0x00}, uint8(0), uint64(1))
	f.Add([]byte{0x2f, 0xb5, 0xc5, 0x1c, 0xff, 0xff, 0xff, 0xff}, uint8(1), uint64(0xffffffffffffffff))
	f.Fuzz(func(t *testing.T, code []byte, mode uint8, seed uint64) {
		if len(code) > 4096 {
			code = code[:4096]
		}
		e := newEnv(t)
		copy(e.ram.Bytes(), code)
		// Traps re-enter the random code; satp, medeleg and friends get
		// random values through the registers the code may use.
		e.h.csr.mtvec = ramBase + uint64(seed%64)*4
		e.h.csr.stvec = ramBase
		e.h.OpenPMP()
		e.h.csr.mstatus |= 1 << msFSShift
		for i := 1; i < 32; i++ {
			v := seed * uint64(i) * 0x9e3779b97f4a7c15
			switch i % 4 {
			case 0:
				v = ramBase + v%ramSize
			case 1:
				v = uint64(i)
			}
			e.h.X[i] = v
		}
		e.h.SetPriv([]Priv{PrivU, PrivS, PrivM, PrivM}[mode%4])
		e.h.csr.satp = []uint64{0, 8 << 60, 9 << 60, 10 << 60}[seed%4] | (ramBase >> 12)
		e.h.flushTLB() // tag the current address space with that satp
		// A random WFI with nothing pending would sleep until Stop.
		stop := time.AfterFunc(20*time.Millisecond, e.h.Stop)
		e.h.Run(5000)
		stop.Stop()
		if e.h.X[0] != 0 {
			t.Fatalf("x0 = %#x", e.h.X[0])
		}
		if _, err := e.h.State(), e.h.SetState(e.h.State()); err != nil {
			t.Fatalf("state of a running hart does not restore: %v", err)
		}
	})
}
