package snapshot

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"

	"github.com/popek-vm/popek/board"
)

// state.bin is a 16-byte header and the gob encoding of a
// board.MachineState:
//
//	0  [8]byte "POPEKSTA"
//	8  uint32  board.MachineStateVersion of the encoded state
//	12 uint32  0
//	16 gob stream of one board.MachineState
//
// gob keeps it compact and decodes by field name, and the version in the
// header is checked before decoding anything.
const (
	stateMagic  = "POPEKSTA"
	stateHeader = 16
)

func encodeState(st *board.MachineState) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(stateMagic)
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(st.Version))
	buf.Write(hdr[:])
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return nil, fmt.Errorf("encode machine state: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeState(b []byte) (*board.MachineState, error) {
	if len(b) < stateHeader || string(b[:8]) != stateMagic {
		return nil, fmt.Errorf("%s is not a popek machine state", StateFile)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != board.MachineStateVersion {
		return nil, fmt.Errorf("%s has machine state version %d, this popek reads version %d", StateFile, v, board.MachineStateVersion)
	}
	var st board.MachineState
	dec := gob.NewDecoder(bytes.NewReader(b[stateHeader:]))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%s: decode machine state: %v", StateFile, err)
	}
	if st.Version != board.MachineStateVersion {
		return nil, fmt.Errorf("%s: state version %d inside a version %d header", StateFile, st.Version, board.MachineStateVersion)
	}
	return &st, nil
}
