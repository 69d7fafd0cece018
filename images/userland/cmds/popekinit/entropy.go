package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	hwrngPath    = "/dev/hwrng"
	reseedBytes  = 64
	randomDevice = "/dev/urandom"
)

// randPoolInfo builds struct rand_pool_info for RNDADDENTROPY: the
// entropy credited in bits, the size in bytes, then the bytes.
func randPoolInfo(seed []byte) []byte {
	b := make([]byte, 8+len(seed))
	ne.PutUint32(b[0:], uint32(8*len(seed)))
	ne.PutUint32(b[4:], uint32(len(seed)))
	copy(b[8:], seed)
	return b
}

// reseedFromHWRNG mixes fresh bytes from the hardware RNG (virtio-rng,
// which the host fills from its own CSPRNG) into the kernel's input pool
// and reseeds the CRNG at once, so guests cloned from one snapshot stop
// producing the same random numbers. It says what it did.
func reseedFromHWRNG() (string, error) {
	rng, err := os.Open(hwrngPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "no " + hwrngPath + ", CRNG not reseeded", nil
	}
	if err != nil {
		return "", err
	}
	defer rng.Close()
	seed := make([]byte, reseedBytes)
	if _, err := io.ReadFull(rng, seed); err != nil {
		return "", fmt.Errorf("read %s: %w", hwrngPath, err)
	}
	dev, err := os.OpenFile(randomDevice, os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	defer dev.Close()
	info := randPoolInfo(seed)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, dev.Fd(), unix.RNDADDENTROPY, uintptr(unsafe.Pointer(&info[0]))); e != 0 {
		return "", fmt.Errorf("RNDADDENTROPY: %w", e)
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, dev.Fd(), unix.RNDRESEEDCRNG, 0); e != 0 {
		return "", fmt.Errorf("RNDRESEEDCRNG: %w", e)
	}
	return fmt.Sprintf("CRNG reseeded with %d bytes from %s", len(seed), hwrngPath), nil
}
