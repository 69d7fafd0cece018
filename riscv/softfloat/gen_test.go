package softfloat

import (
	"math/rand/v2"
	"strings"
)

// caseGen produces operands biased the way TestFloat does: special
// exponents (zero, subnormal, near overflow, inf/NaN) and structured
// significands (runs of ones, single bits, ties), plus operand pairs
// chosen to land results on cancellation, underflow and overflow
// boundaries.
type caseGen struct{ r *rand.Rand }

func newCaseGen(seed uint64) *caseGen {
	return &caseGen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func formatOf(k kind) format {
	if k == kindF32 {
		return binary32()
	}
	return binary64()
}

func (g *caseGen) rm() uint8 { return uint8(g.r.IntN(5)) }

func (g *caseGen) frac(f format) uint64 {
	n := uint64(f.fracBits)
	mask := f.fracMask()
	switch g.r.IntN(10) {
	case 0:
		return 0
	case 1:
		return mask
	case 2:
		return 1 << g.r.Uint64N(n)
	case 3:
		return mask &^ (1 << g.r.Uint64N(n))
	case 4: // a few leading bits: halves and ties when converting to integers
		k := 1 + g.r.Uint64N(8)
		return g.r.Uint64() << (64 - k) >> (64 - n) & mask
	case 5: // a run of ones
		lo := g.r.Uint64N(n)
		hi := lo + g.r.Uint64N(n-lo) + 1
		return (1<<hi - 1) &^ (1<<lo - 1) & mask
	case 6:
		return g.r.Uint64N(16)
	default:
		return g.r.Uint64() & mask
	}
}

func (g *caseGen) exp(f format) uint64 {
	maxE := f.maxExp()
	bias := uint64(f.bias())
	span := uint64(f.fracBits) + 4
	switch g.r.IntN(10) {
	case 0:
		return 0
	case 1:
		return maxE
	case 2:
		return 1 + g.r.Uint64N(3)
	case 3:
		return maxE - 1 - g.r.Uint64N(3)
	case 4, 5:
		return bias - span + g.r.Uint64N(2*span+1)
	default:
		return g.r.Uint64N(maxE + 1)
	}
}

func (g *caseGen) sign(f format) uint64 {
	if g.r.IntN(2) == 0 {
		return 0
	}
	return f.signBit()
}

func (g *caseGen) float(f format) uint64 {
	if g.r.IntN(8) == 0 {
		return g.special(f)
	}
	return g.sign(f) | g.exp(f)<<f.fracBits | g.frac(f)
}

// special returns one of specialValues, so that combinations of them
// (inf*0 with a NaN addend, say) come up often in random cases too.
func (g *caseGen) special(f format) uint64 {
	v := specialValues(f)
	return v[g.r.IntN(len(v))]
}

// specialValues are the values every operation must get right, in both
// signs; the differential test also runs their full cross product.
func specialValues(f format) []uint64 {
	one := uint64(f.bias()) << f.fracBits
	var v []uint64
	for _, m := range []uint64{
		0,                          // zero
		f.infBits(),                // infinity
		f.defaultNaN(),             // quiet NaN
		f.infBits() | 1,            // signalling NaN
		f.infBits() | f.fracMask(), // quiet NaN with a payload
		1,                          // smallest subnormal
		f.fracMask(),               // largest subnormal
		1 << f.fracBits,            // smallest normal
		f.maxFinite(),              // largest finite
		one,                        // 1
		one | 1,                    // 1 + ulp
		one - 1,                    // 1 - ulp/2
	} {
		v = append(v, m, m|f.signBit())
	}
	return v
}

// specialInts are integer operands at the edges of the float formats'
// exact ranges and of the integer types.
func specialInts(k kind) []uint64 {
	v := []uint64{0, 1, 2, 3, 1<<24 - 1, 1 << 24, 1<<24 + 1, 1<<24 + 3, 0x7fffffff, 0x80000000, 0xffffffff}
	if !k.is32() {
		v = append(v, 1<<53-1, 1<<53, 1<<53+1, 1<<53+3, 1<<63-1, 1<<63, 1<<64-1, 1<<63+1<<10, 1<<64-1<<10)
	}
	if k == kindI32 || k == kindI64 {
		for _, x := range v {
			if k == kindI32 {
				v = append(v, -x&0xffffffff)
			} else {
				v = append(v, -x)
			}
		}
	}
	return v
}

// withExp builds a finite value with a clamped exponent field.
func (g *caseGen) withExp(f format, e int64) uint64 {
	e = max(0, min(e, int64(f.maxExp())-1))
	return g.sign(f) | uint64(e)<<f.fracBits | g.frac(f)
}

// related returns a value close to a in magnitude, of either sign, so that
// sums cancel heavily and comparisons see near-equal operands.
func (g *caseGen) related(f format, a uint64) uint64 {
	switch g.r.IntN(3) {
	case 0:
		m := f.magnitude(a) + g.r.Uint64N(7) - 3
		if m > f.infBits() {
			m = f.magnitude(a)
		}
		return g.sign(f) | m
	case 1:
		span := int64(f.fracBits) + 3
		return g.withExp(f, int64(f.expField(a))+g.r.Int64N(2*span+1)-span)
	default:
		return a ^ g.sign(f)
	}
}

// boundaryExp picks a result exponent field near underflow or overflow.
func (g *caseGen) boundaryExp(f format) int64 {
	switch g.r.IntN(3) {
	case 0:
		return 1 - g.r.Int64N(int64(f.fracBits)+3)
	case 1:
		return int64(f.maxExp()) - 3 + g.r.Int64N(5)
	default:
		return int64(f.bias()) + g.r.Int64N(5) - 2
	}
}

func (g *caseGen) integer(k kind) uint64 {
	width := uint64(64)
	if k.is32() {
		width = 32
	}
	var v uint64
	switch g.r.IntN(4) {
	case 0: // a run of ones: many ties when rounding to float
		lo := g.r.Uint64N(width)
		hi := lo + g.r.Uint64N(width-lo) + 1
		v = (1<<hi - 1) &^ (1<<lo - 1)
	case 1:
		v = g.r.Uint64N(64) - 32
	default: // random bit length
		l := g.r.Uint64N(width + 1)
		v = g.r.Uint64() >> (64 - l)
		if l == 0 {
			v = 0
		}
	}
	if width == 32 {
		v &= 0xffffffff
	}
	return v
}

// operands draws the inputs for one case of op.
func (g *caseGen) operands(op opSpec) (a, b, c uint64) {
	if !op.in.isFloat() {
		return g.integer(op.in), 0, 0
	}
	f := formatOf(op.in)
	a = g.float(f)
	b = g.float(f)
	c = g.float(f)
	base := op.name[:strings.IndexByte(op.name, '.')]
	switch base {
	case "fadd", "fsub", "fmin", "fmax", "feq", "flt", "fle":
		if g.r.IntN(2) == 0 {
			b = g.related(f, a)
		}
	case "fmul", "fmadd":
		switch g.r.IntN(3) {
		case 0:
			b = g.finiteNonZero(f, g.withExp(f, g.boundaryExp(f)-int64(f.expField(a))+int64(f.bias())))
		case 1: // product within a few ulps of a threshold
			a = g.nearOne(f)
			if q, _ := f.div(g.threshold(f), a, RNE); !f.isNaN(q) {
				b = g.nudge(f, q)
			}
		}
		if base == "fmadd" {
			c = g.addend(f, a, b, c)
		}
	case "fdiv":
		switch g.r.IntN(3) {
		case 0:
			b = g.finiteNonZero(f, g.withExp(f, int64(f.expField(a))-g.boundaryExp(f)+int64(f.bias())))
		case 1: // quotient within a few ulps of a threshold
			b = g.nearOne(f)
			if p, _ := f.mul(g.threshold(f), b, RNE); !f.isNaN(p) {
				a = g.nudge(f, p)
			}
		}
	case "fcvt":
		if op.out.isFloat() {
			if op.in == kindF64 && op.out == kindF32 && g.r.IntN(2) == 0 {
				// Near binary32's underflow and overflow thresholds.
				e := int64(1023 - 127)
				if g.r.IntN(2) == 0 {
					e += 1 - g.r.Int64N(27)
				} else {
					e += 253 + g.r.Int64N(6)
				}
				a = g.withExp(f, e)
			}
		} else if g.r.IntN(3) != 0 {
			// Near the integer ranges and around one half.
			centres := []int64{0, 31, 32, 63, 64}
			e := int64(f.bias()) + centres[g.r.IntN(len(centres))] + g.r.Int64N(5) - 2
			a = g.withExp(f, e)
		}
	}
	return a, b, c
}

// addend picks c for a*b+c: often the negated, slightly perturbed product
// so that the fused sum cancels, or a value close to it in exponent.
func (g *caseGen) addend(f format, a, b, c uint64) uint64 {
	p, _ := f.mul(a, b, RNE)
	if f.isNaN(p) || f.isInf(p) || f.isZero(p) {
		return c
	}
	switch g.r.IntN(3) {
	case 0:
		m := f.magnitude(p) + g.r.Uint64N(5) - 2
		if m >= f.infBits() {
			m = f.magnitude(p)
		}
		return m | f.signBit()&^p
	case 1:
		span := 2*int64(f.fracBits) + 4
		return g.withExp(f, int64(f.expField(p))+g.r.Int64N(2*span+1)-span)
	}
	return c
}

// threshold returns a value where rounding changes character: the
// smallest normal, the largest finite number, or a subnormal.
func (g *caseGen) threshold(f format) uint64 {
	switch g.r.IntN(4) {
	case 0:
		return g.sign(f) | 1<<f.fracBits
	case 1:
		return g.sign(f) | f.maxFinite()
	case 2:
		return g.sign(f) | 1<<f.fracBits + g.r.Uint64N(9) - 4
	default:
		return g.sign(f) | g.r.Uint64N(1<<f.fracBits)
	}
}

// nearOne returns a finite value within a few binades of 1, so that
// scaling a threshold by it stays in range.
func (g *caseGen) nearOne(f format) uint64 {
	return g.withExp(f, int64(f.bias())+g.r.Int64N(9)-4)
}

// nudge moves a finite value by a few ulps, keeping it finite.
func (g *caseGen) nudge(f format, a uint64) uint64 {
	m := f.magnitude(a) + g.r.Uint64N(7) - 3
	if m >= f.infBits() {
		return a
	}
	return a&f.signBit() | m
}

// finiteNonZero replaces a zero with the smallest normal so that targeted
// operands stay meaningful.
func (g *caseGen) finiteNonZero(f format, a uint64) uint64 {
	if f.isZero(a) {
		return a | 1<<f.fracBits
	}
	return a
}
