package riscv

// Results of runFast.
const (
	fastEnd   = iota // ran off the end of the instructions
	fastTaken        // direct branch or JAL taken (chainable)
	fastJump         // indirect jump; next is the target
	fastSlow         // insts[i] needs the slow path
)

// Results of slowInsn.
const (
	slowOK    = iota // retired; continue with the next instruction
	slowFault        // exception recorded in h.exc; not retired
	slowSMC          // retired, but it modified decoded code: leave the block
	slowSys          // a block-ending system instruction; h.PC is set
)

// execute runs instructions from h.PC until about limit have retired or
// the attention flag is raised, and returns the number retired.
//
// Instructions run in runFast, which makes no calls so that its few live
// values stay in registers; whatever it cannot finish (TLB misses, MMIO,
// AMOs, FP, system instructions) comes back here. Blocks chain to their
// successors in the same page without a lookup.
func (h *Hart) execute(limit uint64) uint64 {
	x := &h.X
	ram := h.ramPtr
	// left counts down instructions and traps (so that a guest faulting in
	// a loop still returns); gen caches the block-cache generation, which
	// only slow paths change.
	left := int64(limit)
	var done, memOps uint64
	traps := h.traps
	gen := h.blocks.gen
	pc := h.PC
	var b *block
	var pending **block // chain slot to fill with the next looked-up block
	for {
		if b == nil {
			h.PC = pc // a fetch fault in lookup traps with h.PC as epc
			b = h.lookup(pc)
			gen = h.blocks.gen
			if b == nil { // fetch fault: the trap is taken
				pc = h.PC
				pending = nil
				left -= int64(h.traps - traps)
				traps = h.traps
				if left <= 0 || h.attn.Load() != 0 {
					h.memOps += memOps
					return done
				}
				continue
			}
			if pending != nil && b.gen != 0 {
				*pending = b
			}
			pending = nil
		}
		bpc := pc
		insts := b.insts
		if int64(len(insts)) > left {
			insts = insts[:left]
		}
		var next uint64
		var slot **block
		i, kind := 0, fastSlow
		for kind == fastSlow {
			i, kind, next = runFast(x, ram, h.ld, h.st, insts, i, bpc)
			if kind != fastSlow {
				break
			}
			in := &insts[i]
			r := h.slowInsn(in, bpc+uint64(in.off), i)
			if r == slowOK {
				i++
				continue
			}
			var n int // instructions of the block that retired
			switch r {
			case slowFault:
				memOps += countMem(insts[:i+1])
				n = i
				h.stats.Instret += uint64(i)
				h.PC = bpc + uint64(in.off)
				h.raise()
				next = h.PC
			case slowSMC:
				memOps += countMem(insts[:i+1])
				n = i + 1
				h.stats.Instret += uint64(i + 1)
				next = bpc + uint64(in.off) + uint64(in.len)
			case slowSys:
				// slowInsn accounted for the instructions and set h.PC.
				memOps += b.nmem
				n = i
				if h.sysRetired {
					n++
				}
				next = h.PC
			}
			done += uint64(n)
			left -= int64(n) + int64(h.traps-traps)
			traps = h.traps
			gen = h.blocks.gen
			kind = fastJump // leave the block without chaining
			i = -1
		}
		if i >= 0 {
			// The block ran to its end (kind tells how it left).
			switch kind {
			case fastEnd:
				if len(insts) == len(b.insts) {
					slot = &b.fall
				}
				next = nextPC(insts, len(insts), bpc)
			case fastTaken:
				slot = &b.taken
			}
			memOps += countMemPrefix(b, len(insts))
			done += uint64(len(insts))
			left -= int64(len(insts))
			h.stats.Instret += uint64(len(insts))
		}
		pc = next
		if left <= 0 || h.attn.Load() != 0 {
			h.PC = pc
			h.memOps += memOps
			return done
		}
		// Follow a chained successor: same page, so same translation.
		b0 := b
		b = nil
		if slot != nil && b0.gen == gen && (pc^bpc)&^pageMask == 0 {
			if c := *slot; c != nil && c.gen == gen {
				b = c
			} else {
				pending = slot
			}
		}
	}
}

// countMemPrefix counts the memory instructions among the first n of b.
func countMemPrefix(b *block, n int) uint64 {
	if n == len(b.insts) {
		return b.nmem
	}
	return countMem(b.insts[:n])
}

func countMem(insts []inst) uint64 {
	var n uint64
	for i := range insts {
		if insts[i].op.isMem() {
			n++
		}
	}
	return n
}
