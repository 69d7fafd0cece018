package mem

import "math/bits"

func bitsTrailingZeros(w uint64) int { return bits.TrailingZeros64(w) }
