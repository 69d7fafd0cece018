package virtio

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkQcow2SequentialRead reads a 64 MiB disk front to back in
// 4 KiB and 128 KiB requests (128 KiB is what Linux's readahead sends) as
// a raw image, as a
// qcow2 made from it and as a compressed qcow2 (page cache warm). The library keeps 16 L2
// tables per image (8 GiB of disk with 64 KiB clusters), so a sequential
// read loads each L2 table once.
func BenchmarkQcow2SequentialRead(b *testing.B) {
	qimg := needQemuImg(b)
	const size = 64 << 20
	dir := b.TempDir()
	raw := writeFile(b, dir, "d.raw", benchDisk(size))
	for _, args := range [][]string{{"-O", "qcow2"}, {"-c", "-O", "qcow2"}} {
		out := filepath.Join(dir, map[int]string{2: "d.qcow2", 3: "dc.qcow2"}[len(args)])
		if o, err := exec.Command(qimg, append(append([]string{"convert"}, args...), raw, out)...).CombinedOutput(); err != nil {
			b.Fatalf("qemu-img: %v\n%s", err, o)
		}
	}
	for _, c := range []struct{ name, path string }{
		{"raw", raw}, {"qcow2", filepath.Join(dir, "d.qcow2")}, {"qcow2-compressed", filepath.Join(dir, "dc.qcow2")},
	} {
		for _, req := range []int64{4 << 10, 128 << 10} {
			b.Run(fmt.Sprintf("%s/%dK", c.name, req>>10), func(b *testing.B) {
				img, err := openDisk(c.path, true)
				if err != nil {
					b.Fatal(err)
				}
				defer img.Close()
				buf := make([]byte, req)
				b.SetBytes(size)
				b.ResetTimer()
				for range b.N {
					for off := int64(0); off < size; off += req {
						if err := img.ReadAt(buf, off); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// benchDisk is data everywhere (no unallocated clusters, which a qcow2
// read would fill without reading), 6 random bits per byte so that it
// compresses about as well as a used file system.
func benchDisk(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32() & 0x3f)
	}
	return b
}
