package board

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// FDTNode is one node of a parsed device tree. The reader exists so tests
// (and tools) can check a generated blob without an external dtc.
type FDTNode struct {
	Name     string
	Props    []FDTProp
	Children []*FDTNode
}

// FDTProp is one property with its raw value.
type FDTProp struct {
	Name  string
	Value []byte
}

// maxFDTDepth bounds nesting so a hostile blob cannot exhaust the stack.
const maxFDTDepth = 64

// ParseFDT decodes a flattened device tree blob into a node tree. Malformed
// input returns an error; it never panics.
func ParseFDT(blob []byte) (*FDTNode, error) {
	if len(blob) < fdtHeaderSize {
		return nil, errors.New("fdt: blob shorter than its header")
	}
	hdr := func(i int) uint32 { return binary.BigEndian.Uint32(blob[4*i:]) }
	if hdr(0) != fdtMagic {
		return nil, fmt.Errorf("fdt: bad magic %#x", hdr(0))
	}
	total, structOff, stringsOff := uint64(hdr(1)), uint64(hdr(2)), uint64(hdr(3))
	stringsSize, structSize := uint64(hdr(8)), uint64(hdr(9))
	if total > uint64(len(blob)) || structOff+structSize > total || stringsOff+stringsSize > total {
		return nil, errors.New("fdt: header offsets point outside the blob")
	}
	p := fdtParser{s: blob[structOff : structOff+structSize], strs: blob[stringsOff : stringsOff+stringsSize]}
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != fdtBeginNode {
		return nil, fmt.Errorf("fdt: structure starts with token %d, want BEGIN_NODE", tok)
	}
	root, err := p.node(0)
	if err != nil {
		return nil, err
	}
	if tok, err := p.token(); err != nil || tok != fdtEnd {
		return nil, errors.New("fdt: missing END token after the root node")
	}
	return root, nil
}

type fdtParser struct {
	s    []byte
	pos  int
	strs []byte
}

func (p *fdtParser) u32() (uint32, error) {
	if p.pos+4 > len(p.s) {
		return 0, errors.New("fdt: structure block truncated")
	}
	v := binary.BigEndian.Uint32(p.s[p.pos:])
	p.pos += 4
	return v, nil
}

// token reads the next token, skipping NOPs.
func (p *fdtParser) token() (uint32, error) {
	for {
		t, err := p.u32()
		if err != nil || t != fdtNop {
			return t, err
		}
	}
}

func (p *fdtParser) align() { p.pos = (p.pos + 3) &^ 3 }

// node parses a node whose BEGIN_NODE token has just been consumed.
func (p *fdtParser) node(depth int) (*FDTNode, error) {
	if depth > maxFDTDepth {
		return nil, errors.New("fdt: nodes nested too deeply")
	}
	end := bytes.IndexByte(p.s[p.pos:], 0)
	if end < 0 {
		return nil, errors.New("fdt: unterminated node name")
	}
	n := &FDTNode{Name: string(p.s[p.pos : p.pos+end])}
	p.pos += end + 1
	p.align()
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case fdtProp:
			prop, err := p.prop()
			if err != nil {
				return nil, err
			}
			n.Props = append(n.Props, prop)
		case fdtBeginNode:
			c, err := p.node(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
		case fdtEndNode:
			return n, nil
		default:
			return nil, fmt.Errorf("fdt: unexpected token %d in node %q", tok, n.Name)
		}
	}
}

func (p *fdtParser) prop() (FDTProp, error) {
	length, err := p.u32()
	if err != nil {
		return FDTProp{}, err
	}
	nameOff, err := p.u32()
	if err != nil {
		return FDTProp{}, err
	}
	if uint64(p.pos)+uint64(length) > uint64(len(p.s)) {
		return FDTProp{}, errors.New("fdt: property value runs past the structure block")
	}
	if uint64(nameOff) >= uint64(len(p.strs)) {
		return FDTProp{}, errors.New("fdt: property name offset outside the strings block")
	}
	nameEnd := bytes.IndexByte(p.strs[nameOff:], 0)
	if nameEnd < 0 {
		return FDTProp{}, errors.New("fdt: unterminated property name")
	}
	prop := FDTProp{Name: string(p.strs[nameOff : int(nameOff)+nameEnd]), Value: p.s[p.pos : p.pos+int(length)]}
	p.pos += int(length)
	p.align()
	return prop, nil
}

// Child returns the direct child with the given full name, or nil.
func (n *FDTNode) Child(name string) *FDTNode {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Find walks a path such as "/soc/serial@10000000" from this node.
func (n *FDTNode) Find(path string) *FDTNode {
	cur := n
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if part == "" {
			continue
		}
		if cur = cur.Child(part); cur == nil {
			return nil
		}
	}
	return cur
}

// Prop returns a property's value and whether it exists.
func (n *FDTNode) Prop(name string) ([]byte, bool) {
	for _, p := range n.Props {
		if p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// U32s decodes a property as big-endian cells (nil if absent or misaligned).
func (n *FDTNode) U32s(name string) []uint32 {
	v, ok := n.Prop(name)
	if !ok || len(v)%4 != 0 {
		return nil
	}
	out := make([]uint32, len(v)/4)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(v[4*i:])
	}
	return out
}

// Strings decodes a string-list property.
func (n *FDTNode) Strings(name string) []string {
	v, ok := n.Prop(name)
	if !ok || len(v) == 0 || v[len(v)-1] != 0 {
		return nil
	}
	return strings.Split(string(v[:len(v)-1]), "\x00")
}
