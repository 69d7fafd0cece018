package riscv

import "testing"

// fenceLoop is a loop of count FENCE.Is followed by the halt sequence:
// li t0, count; loop: fence.i; addi t0, t0, -1; bne t0, zero, loop.
func fenceLoop(count int32) []uint32 {
	return cat(li(t0, count), w(fencei, addi(t0, t0, -1), bne(t0, zero, -8)), haltSeq())
}

func TestFenceIDropsLongStaleBlocks(t *testing.T) {
	// K runs in every iteration of a FENCE.I loop; D, the taken side of
	// K's branch, only in the first. After more than staleAge FENCE.Is D
	// is gone from the cache, K is not, and K no longer links to D.
	e := newEnv(t)
	const (
		loop = ramBase + 4
		k    = ramBase + 8
		d    = ramBase + 32
	)
	e.program(
		addi(a5, zero, 0),
		fencei,             // loop
		beq(a5, zero, d-k), // K
		addi(t0, t0, -1),   // F
		bne(t0, zero, -12), // to loop
		haltSeq()[0], haltSeq()[1], haltSeq()[2],
		addi(a5, zero, 1), // D
		addi(a0, a0, 1),
		beq(zero, zero, -28), // to F
	)
	e.h.X[t0] = 3 * staleAge
	e.run(100000)
	if e.h.X[a0] != 1 || e.h.X[t0] != 0 {
		t.Fatalf("a0 = %d, t0 = %d after the loop; want 1 and 0", e.h.X[a0], e.h.X[t0])
	}
	c := &e.h.blocks
	if _, ok := c.m[d]; ok {
		t.Errorf("block D still cached %d FENCE.Is after it last ran", 3*staleAge)
	}
	kb := c.m[k]
	if kb == nil {
		t.Fatal("block K, run in every iteration, was dropped")
	}
	if kb.taken != nil {
		t.Errorf("K still links to a dropped block at %#x", kb.taken.pa)
	}
	// D runs again: decoded afresh.
	e.h.X[a5], e.h.X[t0], e.h.PC = 0, 1, loop
	e.run(1000)
	if e.h.X[a0] != 2 {
		t.Fatalf("a0 = %d after D ran again, want 2", e.h.X[a0])
	}
}

func TestSweepShrinksBlockMap(t *testing.T) {
	// A page of one-branch blocks runs once, then FENCE.Is age them out:
	// the map is rebuilt at its new size (a Go map never shrinks itself).
	e := newEnv(t)
	const many = ramBase + 0x1000
	words := make([]uint32, 0, 1024)
	for len(words) < 1023 {
		words = append(words, beq(zero, zero, 4)) // a block each
	}
	e.put(many, append(words, jalr(zero, ra, 0))...)
	e.program(cat(la(s0, many), w(jalr(ra, s0, 0)), fenceLoop(3*staleAge))...)
	e.run(1000000)
	c := &e.h.blocks
	if e.h.X[t0] != 0 {
		t.Fatalf("t0 = %d: the loop did not finish", e.h.X[t0])
	}
	if len(c.m) > 16 || c.peak > 16 {
		t.Errorf("after the sweep: %d blocks cached, peak %d; want the few of the loop", len(c.m), c.peak)
	}
}

func TestInvalidatePageDropsAllItsBlocks(t *testing.T) {
	// Several blocks of one page are valid at once; a store into the page
	// (not through the code's own block) drops all of them and keeps the
	// blocks of other pages.
	e := newEnv(t)
	const sub = ramBase + 0x2000
	e.put(sub,
		beq(zero, zero, 4), // three blocks ...
		beq(zero, zero, 4),
		addi(a0, a0, 1), // ... the last one returns
		jalr(zero, ra, 0))
	e.program(cat(la(s0, sub), w(jalr(ra, s0, 0)), haltSeq())...)
	e.run(1000)
	c := &e.h.blocks
	n := 0
	for b := c.pages[sub-ramBase]; b != nil; b = b.nextInPage {
		n++
	}
	if n != 3 {
		t.Fatalf("%d blocks listed for the page, want 3", n)
	}
	main := c.m[ramBase]
	e.h.noteRAMWrite(sub+12, 4)
	for _, pa := range []uint64{sub, sub + 4, sub + 8} {
		if _, ok := c.m[pa]; ok {
			t.Errorf("block %#x survived a write to its page", pa)
		}
	}
	if c.pages[sub-ramBase] != nil || c.isCode(sub-ramBase) {
		t.Error("page still listed as code")
	}
	if main == nil || c.m[ramBase] != main || main.gen != c.gen {
		t.Error("a block of another page was dropped")
	}
}
