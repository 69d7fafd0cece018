package riscv

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/popek-vm/popek/mem"
)

// stateProgram mixes integer, memory, FP, CSR and LR/SC work in a loop.
func stateProgram() []uint32 {
	return cat(
		la(s0, ramBase+0x10000),
		w(csrrsi(zero, csrFcsr, 0), addi(a0, zero, 1)),
		w( // loop:
			add(a1, a1, a0), mul(a2, a1, a1), sd(a2, s0, 0),
			fop(0x1a, 1, 1, a1, 2, 0),        // fcvt.d.l f1, a1
			fop(0, 1, 2, 2, 1, 0),            // fadd.d f2, f2, f1
			amo(f5LR, 3, a3, s0, 0),          // lr.d
			csrr(a4, csrMinstret),            //
			addi(s0, s0, 8), addi(a0, a0, 1), //
			jal(zero, -36),
		),
	)
}

func TestStateRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.program(stateProgram()...)
	e.h.csr.satp = 8 << 60 // unused in M-mode, but must survive
	e.h.csr.mie, e.h.csr.medeleg, e.h.csr.stvec = mipMTIP, 0x100, 0x80001000
	e.h.SetMtimecmp(12345)
	e.h.SetSupervisorTimer(999)
	e.h.SetInterrupt(irqSEI, true)
	e.h.Run(1003)

	s := e.h.State()
	var gb bytes.Buffer
	if err := gob.NewEncoder(&gb).Encode(s); err != nil {
		t.Fatal(err)
	}
	var fromGob State
	if err := gob.NewDecoder(&gb).Decode(&fromGob); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON State
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromGob, s) || !reflect.DeepEqual(fromJSON, s) {
		t.Fatal("encoding changed the state")
	}

	// A second hart on a copy of RAM, restored from the state.
	ram2, err := mem.New(ramBase, ramSize)
	if err != nil {
		t.Fatal(err)
	}
	defer ram2.Close()
	copy(ram2.Bytes(), e.ram.Bytes())
	h2 := New(Config{RAM: ram2, Bus: e.bus, Clock: e.clock})
	if err := h2.RestoreState(fromGob); err != nil {
		t.Fatal(err)
	}
	if got := h2.SaveState(); !reflect.DeepEqual(got, s) {
		t.Fatalf("restored state differs:\n got %+v\nwant %+v", got, s)
	}
	// Both continue identically.
	e.h.Run(2000)
	h2.Run(2000)
	s1, s2 := e.h.State(), h2.State()
	if !reflect.DeepEqual(s1, s2) {
		t.Fatalf("diverged after restore:\n%+v\n%+v", s1, s2)
	}
	if !bytes.Equal(e.ram.Bytes(), ram2.Bytes()) {
		t.Fatal("RAM diverged after restore")
	}
	if s1.PC == s.PC && s1.X == s.X {
		t.Fatal("the program did not run")
	}
}

func TestSetStateRejectsInvalid(t *testing.T) {
	e := newEnv(t)
	good := e.h.State()
	cases := []struct {
		name string
		mod  func(*State)
	}{
		{"priv 2", func(s *State) { s.Priv = 2 }},
		{"mstatus MPP=2", func(s *State) { s.Mstatus |= 2 << msMPPShift }},
		{"mstatus UXL changed", func(s *State) { s.Mstatus &^= msUXL }},
		{"mstatus reserved bit", func(s *State) { s.Mstatus |= 1 << 40 }},
		{"satp mode 5", func(s *State) { s.Satp = 5 << 60 }},
		{"mtvec mode 2", func(s *State) { s.Mtvec = 2 }},
		{"pmpcfg W without R", func(s *State) { s.PMPCfg[3] = pmpW }},
		{"SSIP request", func(s *State) { s.SSIPRequest = 3 }},
	}
	for _, c := range cases {
		s := good
		c.mod(&s)
		if err := e.h.SetState(s); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if err := e.h.SetState(good); err != nil {
		t.Fatalf("good state rejected: %v", err)
	}
}

func TestStats(t *testing.T) {
	// 100 iterations of: ld (hit after the first), addi, bne; then an
	// ecall that traps.
	e := newEnv(t)
	e.program(cat(la(s0, ramBase+0x10000), li(t0, 100), w(ld(a0, s0, 0), addi(t0, t0, -1), bne(t0, zero, -8), ecall))...)
	e.h.Run(1000)
	s := e.h.Stats()
	// la+li, the loop, then the handler's halt sequence (the ecall traps
	// and does not retire).
	if s.Instret != 6+300+3 {
		t.Errorf("Instret = %d, want %d", s.Instret, 6+300+3)
	}
	if s.Exceptions[excEcallM] != 1 || s.Ecalls != 1 {
		t.Errorf("ecall counts: %d %d", s.Exceptions[excEcallM], s.Ecalls)
	}
	// One data miss, 99 data hits; fetches: misses for the code and the
	// handler page, hits for the other lookups.
	if s.TLBMisses < 2 || s.TLBHits < 99 {
		t.Errorf("TLB hits %d misses %d", s.TLBHits, s.TLBMisses)
	}
	var ints uint64
	for _, n := range s.Interrupts {
		ints += n
	}
	if ints != 0 {
		t.Errorf("interrupts %v", s.Interrupts)
	}
}
