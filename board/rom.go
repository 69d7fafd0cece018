package board

import "encoding/binary"

// ROM is read-only memory on the bus; writes are ignored as on real masks.
type ROM struct {
	data []byte
}

// Read returns the little-endian value at off; bytes past the image read 0.
func (r *ROM) Read(off uint64, size int) uint64 {
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v <<= 8
		if p := off + uint64(i); p < uint64(len(r.data)) {
			v |= uint64(r.data[p])
		}
	}
	return v
}

// Write ignores the store.
func (r *ROM) Write(off uint64, size int, val uint64) {}

// OpenSBI's fw_dynamic handover (include/sbi/fw_dynamic.h).
const (
	fwDynamicMagic   = 0x4942534f // "OSBI"
	fwDynamicVersion = 2
	fwDynamicModeS   = 1
)

// resetVectorCode is QEMU virt's reset vector, so firmware sees the same
// registers as under QEMU: a0 = mhartid, a1 = FDT, a2 = &fw_dynamic_info.
var resetVectorCode = [...]uint32{
	0x00000297, // auipc t0, 0
	0x02828613, // addi  a2, t0, 40     (fw_dynamic_info below)
	0xf1402573, // csrr  a0, mhartid
	0x0202b583, // ld    a1, 32(t0)     (fdt address)
	0x0182b283, // ld    t0, 24(t0)     (firmware entry)
	0x00028067, // jr    t0
}

// resetROM builds the reset ROM: code, the firmware entry and FDT address
// words, then fw_dynamic_info telling fw_dynamic to enter next in S-mode.
func resetROM(entry, fdt, next uint64) *ROM {
	b := make([]byte, 0, 96)
	for _, w := range resetVectorCode {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	for _, v := range []uint64{entry, fdt, fwDynamicMagic, fwDynamicVersion, next, fwDynamicModeS, 0, 0} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return &ROM{data: b}
}
