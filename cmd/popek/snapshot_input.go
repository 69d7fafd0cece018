package main

import "io"

// snapshotKeys takes Ctrl-A S out of terminal input before the console
// escape filter sees it, and reports it on a channel. Everything else,
// Ctrl-A Ctrl-A and the other Ctrl-A commands included, passes through
// unchanged, so the escape filter behind it works as before.
type snapshotKeys struct {
	in      io.Reader
	trigger chan<- struct{}
	armed   bool // the last byte read was Ctrl-A, not yet passed on
	pending []byte
}

func (k *snapshotKeys) Read(p []byte) (int, error) {
	for {
		if len(k.pending) > 0 {
			n := copy(p, k.pending)
			k.pending = k.pending[n:]
			return n, nil
		}
		buf := make([]byte, len(p))
		n, err := k.in.Read(buf)
		k.pending = k.filter(buf[:n])
		if len(k.pending) > 0 || err != nil {
			n := copy(p, k.pending)
			k.pending = k.pending[n:]
			return n, err
		}
	}
}

// filter returns the bytes to pass on; a trailing Ctrl-A is held back
// until the next byte shows what it introduces.
func (k *snapshotKeys) filter(in []byte) []byte {
	out := make([]byte, 0, len(in)+1)
	for _, b := range in {
		if !k.armed {
			if b == escapeByte {
				k.armed = true
			} else {
				out = append(out, b)
			}
			continue
		}
		k.armed = false
		switch b {
		case 's', 'S', 0x13: // also Ctrl-S, for fingers still on Ctrl
			select {
			case k.trigger <- struct{}{}:
			default: // one is already pending
			}
		default:
			out = append(out, escapeByte, b)
		}
	}
	return out
}
