package virtio

import "encoding/binary"

// virtio-vsock packets (VIRTIO 1.2 section 5.10.6): a 44-byte header,
// then len payload bytes for RW.
const (
	vsockHdrLen = 44

	// VsockHostCID is the host's address; guest CIDs start at 3.
	VsockHostCID = 2

	vsockTypeStream = 1

	vsockOpRequest       = 1
	vsockOpResponse      = 2
	vsockOpRst           = 3
	vsockOpShutdown      = 4
	vsockOpRW            = 5
	vsockOpCreditUpdate  = 6
	vsockOpCreditRequest = 7

	vsockShutdownRcv  = 1 // the sender will receive no more
	vsockShutdownSend = 2 // the sender will send no more
	vsockShutdownBoth = vsockShutdownRcv | vsockShutdownSend

	vsockEventTransportReset = 0
	vsockEventLen            = 4 // struct virtio_vsock_event: le32 id
)

// vsockHdr is struct virtio_vsock_hdr.
type vsockHdr struct {
	SrcCID, DstCID   uint64
	SrcPort, DstPort uint32
	Len              uint32
	Type, Op         uint16
	Flags            uint32
	BufAlloc, FwdCnt uint32
}

// parseVsockHdr decodes a header; false if b is too short.
func parseVsockHdr(b []byte) (vsockHdr, bool) {
	if len(b) < vsockHdrLen {
		return vsockHdr{}, false
	}
	le := binary.LittleEndian
	return vsockHdr{
		SrcCID: le.Uint64(b[0:]), DstCID: le.Uint64(b[8:]),
		SrcPort: le.Uint32(b[16:]), DstPort: le.Uint32(b[20:]),
		Len:  le.Uint32(b[24:]),
		Type: le.Uint16(b[28:]), Op: le.Uint16(b[30:]),
		Flags:    le.Uint32(b[32:]),
		BufAlloc: le.Uint32(b[36:]), FwdCnt: le.Uint32(b[40:]),
	}, true
}

// encode writes the header into b[:vsockHdrLen].
func (h *vsockHdr) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], h.SrcCID)
	le.PutUint64(b[8:], h.DstCID)
	le.PutUint32(b[16:], h.SrcPort)
	le.PutUint32(b[20:], h.DstPort)
	le.PutUint32(b[24:], h.Len)
	le.PutUint16(b[28:], h.Type)
	le.PutUint16(b[30:], h.Op)
	le.PutUint32(b[32:], h.Flags)
	le.PutUint32(b[36:], h.BufAlloc)
	le.PutUint32(b[40:], h.FwdCnt)
}

// reply is the header of an answer to h (ports and CIDs swapped).
func (h *vsockHdr) reply(op uint16) vsockHdr {
	return vsockHdr{SrcCID: h.DstCID, DstCID: h.SrcCID, SrcPort: h.DstPort, DstPort: h.SrcPort, Type: h.Type, Op: op}
}
