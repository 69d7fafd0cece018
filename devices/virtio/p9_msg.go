package virtio

import (
	"encoding/binary"

	"github.com/hugelgupf/p9/linux"
)

// 9P2000.L message framing: size[4] type[1] tag[2] body.
const (
	p9HeaderLen = 7
	p9NoTag     = 0xffff
	p9NoFID     = 0xffffffff

	p9Rlerror  = 7
	p9Tversion = 100
	p9Rversion = 101
	p9Tflush   = 108
	p9Rflush   = 109
	p9Twrite   = 118

	// p9MaxMessage is the server's own limit (hugelgupf/p9 maximumLength).
	p9MaxMessage = 4 << 20
)

// p9Bodies gives the body layout of every T-message forwarded to the 9P
// server, as its decoder reads it: 1, 2, 4, 8 are fixed-size fields, s a
// string (len[2] bytes), W walk names (n[2] then n strings), D Twrite's
// count[4] followed by exactly count bytes. Trailing bytes are allowed (the
// decoder ignores them; Linux's Tfsync carries a datasync word the decoder
// skips). A body that does not fit makes the server reply with NOTAG,
// which no request could be matched to, so those are answered here.
// Types missing from the table (R-messages, Tgetlock, which the server
// lacks, garbage) are answered here with ENOSYS.
var p9Bodies = map[byte]string{
	8:   "4",          // Tstatfs fid
	12:  "44",         // Tlopen fid flags
	14:  "4s444",      // Tlcreate fid name flags mode gid
	16:  "4ss4",       // Tsymlink fid name target gid
	18:  "4s4444",     // Tmknod dfid name mode major minor gid
	20:  "44s",        // Trename fid dfid name
	22:  "4",          // Treadlink fid
	24:  "48",         // Tgetattr fid mask
	26:  "4444488888", // Tsetattr fid valid mode uid gid size atime[2] mtime[2]
	30:  "44s",        // Txattrwalk fid newfid name
	32:  "4s84",       // Txattrcreate fid name size flags
	40:  "484",        // Treaddir fid offset count
	50:  "4",          // Tfsync fid
	52:  "414884s",    // Tlock fid type flags start length proc_id client_id
	70:  "44s",        // Tlink dfid fid name
	72:  "4s44",       // Tmkdir dfid name mode gid
	74:  "4s4s",       // Trenameat olddirfid oldname newdirfid newname
	76:  "4s4",        // Tunlinkat dfid name flags
	100: "4s",         // Tversion msize version
	102: "4ss4",       // Tauth afid uname aname n_uname
	104: "44ss4",      // Tattach fid afid uname aname n_uname
	108: "2",          // Tflush oldtag
	110: "44W",        // Twalk fid newfid names
	116: "484",        // Tread fid offset count
	118: "48D",        // Twrite fid offset data
	120: "4",          // Tclunk fid
	122: "4",          // Tremove fid
	// 9P2000.L.Google extensions, negotiated only by clients that ask
	// (Linux does not): the .L call plus the caller's uid.
	126: "44W",     // Twalkgetattr fid newfid names
	128: "4s4444",  // Tucreate
	130: "4s444",   // Tumkdir
	132: "4s44444", // Tumknod
	134: "4ss44",   // Tusymlink
}

// p9CheckBody reports whether body (after the header) decodes as layout.
func p9CheckBody(layout string, body []byte) bool {
	for _, c := range []byte(layout) {
		switch c {
		case '1', '2', '4', '8':
			n := int(c - '0')
			if len(body) < n {
				return false
			}
			body = body[n:]
		case 's':
			var ok bool
			if body, ok = p9SkipString(body); !ok {
				return false
			}
		case 'W':
			if len(body) < 2 {
				return false
			}
			n := binary.LittleEndian.Uint16(body)
			body = body[2:]
			for range n {
				var ok bool
				if body, ok = p9SkipString(body); !ok {
					return false
				}
			}
		case 'D':
			if len(body) < 4 {
				return false
			}
			return uint64(binary.LittleEndian.Uint32(body)) == uint64(len(body)-4)
		}
	}
	return true
}

func p9SkipString(b []byte) ([]byte, bool) {
	if len(b) < 2 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, false
	}
	return b[2+n:], true
}

// p9Check validates one whole message (its size field already matched to
// its length): zero means forward it, otherwise the errno to answer with.
func p9Check(msg []byte) linux.Errno {
	layout, ok := p9Bodies[msg[4]]
	if !ok {
		return linux.ENOSYS
	}
	if !p9CheckBody(layout, msg[p9HeaderLen:]) {
		return linux.EINVAL
	}
	return 0
}

// p9Lerror encodes Rlerror for tag.
func p9Lerror(tag uint16, errno linux.Errno) []byte {
	b := make([]byte, p9HeaderLen+4)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	b[4] = p9Rlerror
	binary.LittleEndian.PutUint16(b[5:], tag)
	binary.LittleEndian.PutUint32(b[7:], uint32(errno))
	return b
}

// p9FlushReply encodes Rflush for tag.
func p9FlushReply(tag uint16) []byte {
	b := make([]byte, p9HeaderLen)
	binary.LittleEndian.PutUint32(b, p9HeaderLen)
	b[4] = p9Rflush
	binary.LittleEndian.PutUint16(b[5:], tag)
	return b
}
