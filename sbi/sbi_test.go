package sbi

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/popek-vm/popek/mem"
)

const ramBase = 0x80000000

// fakeHart records every action the SBI takes on it.
type fakeHart struct {
	id  uint64
	log *[]string
}

func (h fakeHart) SetSupervisorTimer(v uint64) {
	*h.log = append(*h.log, fmt.Sprintf("h%d timer %#x", h.id, v))
}
func (h fakeHart) SetInterrupt(bit uint, level bool) {
	*h.log = append(*h.log, fmt.Sprintf("h%d irq %d %v", h.id, bit, level))
}
func (h fakeHart) RequestFlushTLB() { *h.log = append(*h.log, fmt.Sprintf("h%d tlb", h.id)) }
func (h fakeHart) RequestFenceI()   { *h.log = append(*h.log, fmt.Sprintf("h%d fencei", h.id)) }

type fakePlatform struct {
	n      int
	log    []string
	states []HartState
	out    strings.Builder
	in     []byte
	// words answers LoadUlong for legacy hart masks.
	words map[uint64]uint64
}

func newFakePlatform(n int) *fakePlatform {
	p := &fakePlatform{n: n, states: make([]HartState, n), words: map[uint64]uint64{}}
	for i := 1; i < n; i++ {
		p.states[i] = HartStopped
	}
	return p
}

func (p *fakePlatform) NumHarts() int         { return p.n }
func (p *fakePlatform) Hart(id uint64) Target { return fakeHart{id: id, log: &p.log} }
func (p *fakePlatform) HartStart(id, addr, opaque uint64) Error {
	if p.states[id] != HartStopped {
		return ErrAlreadyAvail
	}
	p.states[id] = HartStarted
	p.log = append(p.log, fmt.Sprintf("start h%d %#x %#x", id, addr, opaque))
	return Success
}
func (p *fakePlatform) HartStop(caller uint64) Error {
	p.states[caller] = HartStopped
	p.log = append(p.log, fmt.Sprintf("stop h%d", caller))
	return Success
}
func (p *fakePlatform) HartStatus(id uint64) HartState { return p.states[id] }
func (p *fakePlatform) HartSuspend(caller uint64, nonRet bool, addr, opaque uint64) Error {
	p.log = append(p.log, fmt.Sprintf("suspend h%d %v %#x %#x", caller, nonRet, addr, opaque))
	return Success
}
func (p *fakePlatform) SystemReset(kind ResetType, reason uint32) {
	p.log = append(p.log, fmt.Sprintf("reset %d %d", kind, reason))
}
func (p *fakePlatform) ConsoleWrite(b []byte) int { p.out.Write(b); return len(b) }
func (p *fakePlatform) ConsoleRead(b []byte) int {
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n
}
func (p *fakePlatform) AwaitFences(caller, mask uint64) {
	p.log = append(p.log, fmt.Sprintf("await h%d %#b", caller, mask))
}
func (p *fakePlatform) LoadUlong(caller, vaddr uint64) (uint64, bool) {
	v, ok := p.words[vaddr]
	return v, ok
}

func newTestSBI(t *testing.T, harts int) (*SBI, *fakePlatform, *mem.RAM) {
	t.Helper()
	ram, err := mem.New(ramBase, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ram.Close() })
	p := newFakePlatform(harts)
	return New(Config{Platform: p, RAM: ram, MVendorID: 0x5ec, MArchID: 7, MImpID: 9}), p, ram
}

// call builds a0..a7 from (eid, fid, args...).
func call(eid, fid uint64, args ...uint64) *[8]uint64 {
	var a [8]uint64
	copy(a[:], args)
	a[6], a[7] = fid, eid
	return &a
}

func TestCalls(t *testing.T) {
	neg := func(e Error) uint64 { return uint64(e) } // two's complement, as in a0
	tests := []struct {
		name   string
		harts  int
		caller uint64
		args   *[8]uint64
		want   Result
		log    []string
	}{
		{"spec version", 1, 0, call(extBase, 0), Result{0, 0x02000000, true}, nil},
		{"impl id", 1, 0, call(extBase, 1), Result{0, ImplID, true}, nil},
		{"impl version", 1, 0, call(extBase, 2), Result{0, ImplVersion, true}, nil},
		{"probe time", 1, 0, call(extBase, 3, extTime), Result{0, 1, true}, nil},
		{"probe hsm", 1, 0, call(extBase, 3, extHSM), Result{0, 1, true}, nil},
		{"probe dbcn", 1, 0, call(extBase, 3, extDBCN), Result{0, 1, true}, nil},
		{"probe legacy putchar", 1, 0, call(extBase, 3, 1), Result{0, 1, true}, nil},
		{"probe pmu unsupported", 1, 0, call(extBase, 3, extPMU), Result{0, 0, true}, nil},
		{"probe unknown", 1, 0, call(extBase, 3, 0x12345678), Result{0, 0, true}, nil},
		{"mvendorid", 1, 0, call(extBase, 4), Result{0, 0x5ec, true}, nil},
		{"marchid", 1, 0, call(extBase, 5), Result{0, 7, true}, nil},
		{"mimpid", 1, 0, call(extBase, 6), Result{0, 9, true}, nil},
		{"base bad fid", 1, 0, call(extBase, 99), Result{neg(ErrNotSupported), 0, true}, nil},
		{"unknown extension", 1, 0, call(0x0A000000, 0), Result{neg(ErrNotSupported), 0, true}, nil},
		{"pmu extension", 1, 0, call(extPMU, 0), Result{neg(ErrNotSupported), 0, true}, nil},

		{"set_timer", 2, 1, call(extTime, 0, 0x1234), Result{0, 0, true}, []string{"h1 timer 0x1234"}},
		{"time bad fid", 1, 0, call(extTime, 1), Result{neg(ErrNotSupported), 0, true}, nil},

		{"ipi mask", 4, 0, call(extIPI, 0, 0b101, 0), Result{0, 0, true}, []string{"h0 irq 1 true", "h2 irq 1 true"}},
		{"ipi mask base", 4, 0, call(extIPI, 0, 0b11, 2), Result{0, 0, true}, []string{"h2 irq 1 true", "h3 irq 1 true"}},
		{"ipi all", 3, 0, call(extIPI, 0, 0, ^uint64(0)), Result{0, 0, true}, []string{"h0 irq 1 true", "h1 irq 1 true", "h2 irq 1 true"}},
		{"ipi bad hart sends nothing", 2, 0, call(extIPI, 0, 0b101, 0), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"ipi base overflow", 2, 0, call(extIPI, 0, 1<<63, 1<<63), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"ipi empty mask", 2, 0, call(extIPI, 0, 0, 0), Result{0, 0, true}, nil},

		{"remote fence.i", 2, 0, call(extRFence, 0, 0b11, 0), Result{0, 0, true}, []string{"h0 fencei", "h1 fencei", "await h0 0b11"}},
		{"remote sfence.vma incl caller", 2, 1, call(extRFence, 1, 0b10, 0, 0x1000, 0x2000), Result{0, 0, true}, []string{"h1 tlb", "await h1 0b10"}},
		{"remote sfence.vma.asid", 2, 0, call(extRFence, 2, 1, 1, 0, ^uint64(0), 5), Result{0, 0, true}, []string{"h1 tlb", "await h0 0b10"}},
		{"remote sfence.vma all", 3, 0, call(extRFence, 1, 0, ^uint64(0), 0, 0), Result{0, 0, true}, []string{"h0 tlb", "h1 tlb", "h2 tlb", "await h0 0b111"}},
		{"remote sfence.vma bad hart", 2, 0, call(extRFence, 1, 0b100, 0, 0, 0), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"remote hfence unsupported", 2, 0, call(extRFence, 3, 1, 0), Result{neg(ErrNotSupported), 0, true}, nil},

		{"hart_start", 2, 0, call(extHSM, 0, 1, ramBase+0x2000, 0xfd7), Result{0, 0, true}, []string{"start h1 0x80002000 0xfd7"}},
		{"hart_start running hart", 2, 0, call(extHSM, 0, 0, ramBase, 0), Result{neg(ErrAlreadyAvail), 0, true}, nil},
		{"hart_start bad id", 2, 0, call(extHSM, 0, 2, ramBase, 0), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"hart_start outside RAM", 2, 0, call(extHSM, 0, 1, 0x1000, 0), Result{neg(ErrInvalidAddr), 0, true}, nil},
		{"hart_start odd address", 2, 0, call(extHSM, 0, 1, ramBase+1, 0), Result{neg(ErrInvalidAddr), 0, true}, nil},
		{"hart_stop", 2, 1, call(extHSM, 1), Result{0, 0, true}, []string{"stop h1"}},
		{"hart_get_status started", 2, 0, call(extHSM, 2, 0), Result{0, uint64(HartStarted), true}, nil},
		{"hart_get_status stopped", 2, 0, call(extHSM, 2, 1), Result{0, uint64(HartStopped), true}, nil},
		{"hart_get_status bad id", 2, 0, call(extHSM, 2, 9), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"suspend retentive", 1, 0, call(extHSM, 3, 0), Result{0, 0, true}, []string{"suspend h0 false 0x0 0x0"}},
		{"suspend non-retentive", 1, 0, call(extHSM, 3, 0x80000000, ramBase+8, 42), Result{0, 0, true}, []string{"suspend h0 true 0x80000008 0x2a"}},
		{"suspend non-retentive bad addr", 1, 0, call(extHSM, 3, 0x80000000, 8, 42), Result{neg(ErrInvalidAddr), 0, true}, nil},
		{"suspend reserved type", 1, 0, call(extHSM, 3, 1), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"suspend platform type", 1, 0, call(extHSM, 3, 0x10000000), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"hsm bad fid", 1, 0, call(extHSM, 7), Result{neg(ErrNotSupported), 0, true}, nil},

		{"shutdown", 1, 0, call(extSRST, 0, 0, 0), Result{0, 0, true}, []string{"reset 0 0"}},
		{"cold reboot", 1, 0, call(extSRST, 0, 1, 1), Result{0, 0, true}, []string{"reset 1 1"}},
		{"warm reboot", 1, 0, call(extSRST, 0, 2, 0), Result{0, 0, true}, []string{"reset 2 0"}},
		{"reset reserved type", 1, 0, call(extSRST, 0, 3, 0), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"reset vendor reason", 1, 0, call(extSRST, 0, 0, 0xF0000000), Result{neg(ErrInvalidParam), 0, true}, nil},

		{"dbcn write outside RAM", 1, 0, call(extDBCN, 0, 4, 0x1000, 0), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"dbcn write wraps", 1, 0, call(extDBCN, 0, ^uint64(0), ramBase, 0), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"dbcn write high address", 1, 0, call(extDBCN, 0, 1, ramBase, 1), Result{neg(ErrInvalidParam), 0, true}, nil},
		{"dbcn bad fid", 1, 0, call(extDBCN, 3), Result{neg(ErrNotSupported), 0, true}, nil},

		{"legacy set_timer", 1, 0, call(extLegacySetTimer, 0, 99), Result{A0: 0}, []string{"h0 timer 0x63"}},
		{"legacy clear_ipi", 1, 0, call(extLegacyClearIPI, 0), Result{A0: 0}, []string{"h0 irq 1 false"}},
		{"legacy send_ipi null mask = all", 2, 0, call(extLegacySendIPI, 0, 0), Result{A0: 0}, []string{"h0 irq 1 true", "h1 irq 1 true"}},
		{"legacy send_ipi mask", 2, 0, call(extLegacySendIPI, 0, 0xffff0000), Result{A0: 0}, []string{"h1 irq 1 true"}},
		{"legacy send_ipi bad pointer", 2, 0, call(extLegacySendIPI, 0, 0xdead), Result{A0: neg(ErrInvalidAddr)}, nil},
		{"legacy fence.i", 2, 0, call(extLegacyFenceI, 0, 0xffff0000), Result{A0: 0}, []string{"h1 fencei", "await h0 0b10"}},
		{"legacy sfence.vma", 2, 0, call(extLegacySfenceVMA, 0, 0), Result{A0: 0}, []string{"h0 tlb", "h1 tlb", "await h0 0b11"}},
		{"legacy sfence.vma.asid", 2, 0, call(extLegacySfenceVMAASI, 0, 0xffff0000), Result{A0: 0}, []string{"h1 tlb", "await h0 0b10"}},
		{"legacy shutdown", 1, 0, call(extLegacyShutdown, 0), Result{A0: 0}, []string{"reset 0 0"}},
		{"legacy getchar empty", 1, 0, call(extLegacyGetchar, 0), Result{A0: ^uint64(0)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, p, _ := newTestSBI(t, tc.harts)
			p.words[0xffff0000] = 0b10
			got := s.Call(tc.caller, tc.args)
			if got != tc.want {
				t.Errorf("Call = %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(p.log, tc.log) {
				t.Errorf("actions = %q, want %q", p.log, tc.log)
			}
		})
	}
}

func TestConsole(t *testing.T) {
	s, p, ram := newTestSBI(t, 1)
	copy(ram.Bytes()[0x100:], "hello")
	if r := s.Call(0, call(extDBCN, dbcnWrite, 5, ramBase+0x100, 0)); r != (Result{0, 5, true}) {
		t.Fatalf("console_write = %+v", r)
	}
	if r := s.Call(0, call(extDBCN, dbcnWriteByte, '!'|0x100)); r != (Result{0, 0, true}) {
		t.Fatalf("console_write_byte = %+v", r)
	}
	s.Call(0, call(extLegacyPutchar, 0, '\n'))
	if got := p.out.String(); got != "hello!\n" {
		t.Errorf("console output %q, want %q", got, "hello!\n")
	}

	p.in = []byte("abc")
	if r := s.Call(0, call(extLegacyGetchar, 0)); r != (Result{A0: 'a'}) {
		t.Fatalf("legacy getchar = %+v", r)
	}
	ram.TakeDirty()
	if r := s.Call(0, call(extDBCN, dbcnRead, 8, ramBase+0x2000, 0)); r != (Result{0, 2, true}) {
		t.Fatalf("console_read = %+v", r)
	}
	if got := string(ram.Bytes()[0x2000:0x2002]); got != "bc" {
		t.Errorf("console_read stored %q, want %q", got, "bc")
	}
	if d := ram.TakeDirty(); !slices.Equal(d, []uint64{2}) {
		t.Errorf("dirty pages after console_read = %v, want [2]", d)
	}
	if r := s.Call(0, call(extDBCN, dbcnRead, 8, ramBase+(1<<20)-4, 0)); Error(r.A0) != ErrInvalidParam {
		t.Errorf("console_read past RAM end = %+v, want INVALID_PARAM", r)
	}
}

func TestCallsCountedByExtension(t *testing.T) {
	s := New(Config{Platform: newFakePlatform(2)})
	call := func(eid, fid uint64) {
		var a [8]uint64
		a[7], a[6] = eid, fid
		s.Call(0, &a)
	}
	call(extBase, 0)
	call(extBase, 3)
	call(extTime, 0)
	call(extLegacyPutchar, 0)
	call(0x12345678, 0)
	got := s.Calls()
	want := map[string]uint64{"base": 2, "time": 1, "legacy": 1, "other": 1}
	if len(got) != len(want) {
		t.Fatalf("Calls() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("Calls() = %v, want %v", got, want)
		}
	}
}
