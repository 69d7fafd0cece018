package riscv

// counter is a guest-visible view (mcycle or minstret) of the hart's
// retired-instruction count: the run loop only bumps one total, and a
// counter is that total plus an offset, or a frozen value while inhibited.
type counter struct {
	offset    uint64
	inhibited bool
	frozen    uint64
}

func (c *counter) read(retired uint64) uint64 {
	if c.inhibited {
		return c.frozen
	}
	return retired + c.offset
}

// write sets the counter so that the next instruction reads v: a CSR write
// takes precedence over the increment of the writing instruction, so
// retiredAfter includes that instruction.
func (c *counter) write(v, retiredAfter uint64) {
	if c.inhibited {
		c.frozen = v
		return
	}
	c.offset = v - retiredAfter
}

func (c *counter) setInhibit(on bool, retired uint64) {
	if on == c.inhibited {
		return
	}
	if on {
		c.frozen = c.read(retired)
		c.inhibited = true
		return
	}
	c.inhibited = false
	c.offset = c.frozen - retired
}

// counterFile holds mcycle and minstret. cycle counts retired instructions
// too (one instruction per cycle).
type counterFile struct {
	cycle   counter
	instret counter
}
