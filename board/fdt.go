package board

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Flattened device tree tokens and header constants (Devicetree spec 0.4, ch. 5).
const (
	fdtMagic        = 0xd00dfeed
	fdtBeginNode    = 1
	fdtEndNode      = 2
	fdtProp         = 3
	fdtNop          = 4
	fdtEnd          = 9
	fdtHeaderSize   = 40
	fdtVersion      = 17
	fdtLastCompVers = 16
)

// FDTBuilder writes a flattened device tree one node at a time, the way a
// DTS reads: BeginNode, properties, child nodes, EndNode. Errors (unbalanced
// nodes, properties outside a node) are sticky and reported by Finish.
type FDTBuilder struct {
	structure []byte
	strings   []byte
	strOff    map[string]uint32
	depth     int
	err       error
}

// NewFDTBuilder returns an empty builder; the first node must be the root "".
func NewFDTBuilder() *FDTBuilder {
	return &FDTBuilder{strOff: make(map[string]uint32)}
}

func (b *FDTBuilder) u32(v uint32) {
	b.structure = binary.BigEndian.AppendUint32(b.structure, v)
}

// pad aligns the structure block to 4 bytes with zeros.
func (b *FDTBuilder) pad() {
	for len(b.structure)%4 != 0 {
		b.structure = append(b.structure, 0)
	}
}

// BeginNode opens a node; name is "" for the root, otherwise "name@unit".
func (b *FDTBuilder) BeginNode(name string) {
	if b.depth == 0 && len(b.structure) > 0 {
		b.fail(fmt.Errorf("fdt: second root node %q", name))
		return
	}
	b.u32(fdtBeginNode)
	b.structure = append(b.structure, name...)
	b.structure = append(b.structure, 0)
	b.pad()
	b.depth++
}

// EndNode closes the most recently opened node.
func (b *FDTBuilder) EndNode() {
	if b.depth == 0 {
		b.fail(errors.New("fdt: EndNode without BeginNode"))
		return
	}
	b.u32(fdtEndNode)
	b.depth--
}

func (b *FDTBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// nameOffset interns a property name in the strings block.
func (b *FDTBuilder) nameOffset(name string) uint32 {
	if off, ok := b.strOff[name]; ok {
		return off
	}
	off := uint32(len(b.strings))
	b.strings = append(b.strings, name...)
	b.strings = append(b.strings, 0)
	b.strOff[name] = off
	return off
}

// Prop adds a property with a raw value.
func (b *FDTBuilder) Prop(name string, val []byte) {
	if b.depth == 0 {
		b.fail(fmt.Errorf("fdt: property %q outside any node", name))
		return
	}
	b.u32(fdtProp)
	b.u32(uint32(len(val)))
	b.u32(b.nameOffset(name))
	b.structure = append(b.structure, val...)
	b.pad()
}

// PropEmpty adds a boolean (valueless) property such as interrupt-controller.
func (b *FDTBuilder) PropEmpty(name string) { b.Prop(name, nil) }

// PropU32 adds a property of 32-bit big-endian cells.
func (b *FDTBuilder) PropU32(name string, cells ...uint32) {
	v := make([]byte, 0, 4*len(cells))
	for _, c := range cells {
		v = binary.BigEndian.AppendUint32(v, c)
	}
	b.Prop(name, v)
}

// PropU64 adds a property of 64-bit values, each as two cells.
func (b *FDTBuilder) PropU64(name string, vals ...uint64) {
	v := make([]byte, 0, 8*len(vals))
	for _, x := range vals {
		v = binary.BigEndian.AppendUint64(v, x)
	}
	b.Prop(name, v)
}

// PropString adds a NUL-terminated string property.
func (b *FDTBuilder) PropString(name, s string) { b.PropStrings(name, s) }

// PropStrings adds a string-list property (each string NUL-terminated).
func (b *FDTBuilder) PropStrings(name string, ss ...string) {
	var v []byte
	for _, s := range ss {
		v = append(v, s...)
		v = append(v, 0)
	}
	b.Prop(name, v)
}

// Finish closes the tree and returns the blob. bootCPU is the physical id of
// the boot hart recorded in the header.
func (b *FDTBuilder) Finish(bootCPU uint32) ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.depth != 0 {
		return nil, fmt.Errorf("fdt: %d node(s) left open", b.depth)
	}
	if len(b.structure) == 0 {
		return nil, errors.New("fdt: empty tree")
	}
	structure := binary.BigEndian.AppendUint32(append([]byte(nil), b.structure...), fdtEnd)
	// Layout: header, reserve map (one terminating empty entry), structure, strings.
	const rsvOff = fdtHeaderSize
	const rsvSize = 16
	structOff := uint32(rsvOff + rsvSize)
	stringsOff := structOff + uint32(len(structure))
	total := stringsOff + uint32(len(b.strings))
	out := make([]byte, 0, (total+7)&^7)
	for _, v := range []uint32{fdtMagic, total, structOff, stringsOff, rsvOff, fdtVersion,
		fdtLastCompVers, bootCPU, uint32(len(b.strings)), uint32(len(structure))} {
		out = binary.BigEndian.AppendUint32(out, v)
	}
	out = append(out, make([]byte, rsvSize)...)
	out = append(out, structure...)
	out = append(out, b.strings...)
	return out, nil
}
