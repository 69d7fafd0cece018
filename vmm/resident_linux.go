//go:build linux

package vmm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentBytes counts the pages of b (a page-aligned mapping) that are
// backed by host memory now, with mincore(2). Guest RAM is mapped with
// MAP_NORESERVE, so this is what the guest has touched and not given back.
func residentBytes(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	page := unix.Getpagesize()
	vec := make([]byte, (len(b)+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return 0
	}
	n := uint64(0)
	for _, v := range vec {
		n += uint64(v & 1)
	}
	return n * uint64(page)
}
