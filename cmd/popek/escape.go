package main

// escapeByte is Ctrl-A, QEMU's console escape prefix.
const escapeByte = 0x01

// escapeHelp is printed for Ctrl-A H. Raw mode needs explicit CRs.
const escapeHelp = "\r\nC-a h    print this help\r\nC-a x    exit popek\r\nC-a C-a  send C-a to the guest\r\n"

// escapeFilter separates console escape commands from guest input. The
// prefix may arrive at the end of one read and its command in the next.
type escapeFilter struct {
	armed bool // the previous byte was the escape prefix
}

// escapeResult is what one chunk of input amounted to.
type escapeResult struct {
	forward []byte // bytes for the guest
	help    bool   // Ctrl-A H seen
	quit    bool   // Ctrl-A X seen; input after it is dropped
}

func (f *escapeFilter) feed(p []byte) escapeResult {
	var r escapeResult
	for _, b := range p {
		if !f.armed {
			if b == escapeByte {
				f.armed = true
			} else {
				r.forward = append(r.forward, b)
			}
			continue
		}
		f.armed = false
		switch b {
		case escapeByte:
			r.forward = append(r.forward, escapeByte)
		case 'x', 'X', 0x18: // also Ctrl-X, for fingers still on Ctrl
			r.quit = true
			return r
		case 'h', 'H', 0x08:
			r.help = true
		}
		// Any other command is unknown and swallowed, as QEMU does.
	}
	return r
}
