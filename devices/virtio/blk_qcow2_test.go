package virtio

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// needQemuImg returns qemu-img's path, skipping the test without it.
func needQemuImg(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img (qemu-utils) not installed")
	}
	return p
}

func runTool(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// qcow2Content is a disk with data, zero runs and a partial last
// cluster's worth of data: what the qemu-img images hold.
func qcow2Content(size int) []byte {
	b := pattern(size, 7)
	clear(b[64<<10 : 200<<10]) // zero clusters, unaligned start and end
	clear(b[size-(96<<10) : size-(32<<10)])
	return b
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openTestQcow2(t *testing.T, path string) *qcow2Image {
	t.Helper()
	img, err := openDisk(path, true)
	if err != nil {
		t.Fatal(err)
	}
	q, ok := img.(*qcow2Image)
	if !ok {
		t.Fatalf("%s opened as %T, not qcow2", path, img)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// checkImageBytes reads img whole in pieces of several sizes and
// alignments (crossing cluster boundaries) and compares with want.
func checkImageBytes(t *testing.T, img image, want []byte) {
	t.Helper()
	if img.Size() != int64(len(want)) {
		t.Fatalf("size %d, want %d", img.Size(), len(want))
	}
	for _, chunk := range []int64{512, 4096 + 512, 128 << 10} {
		for start := int64(0); start < 2; start++ {
			off := start * 1536 // 0, or a misaligned first piece
			got := make([]byte, len(want))
			if off > 0 {
				if err := img.ReadAt(got[:off], 0); err != nil {
					t.Fatal(err)
				}
			}
			for o := off; o < int64(len(want)); o += chunk {
				n := min(chunk, int64(len(want))-o)
				if err := img.ReadAt(got[o:o+n], o); err != nil {
					t.Fatalf("read %d at %d: %v", n, o, err)
				}
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("%d-byte reads from %d: first difference at byte %d", chunk, off, i)
			}
		}
	}
	// Small reads all over the disk, so cached clusters get replaced.
	r := rand.New(rand.NewPCG(uint64(len(want)), 1))
	for range 300 {
		off := r.Int64N(int64(len(want)))
		n := min(1+r.Int64N(9000), int64(len(want))-off)
		got := make([]byte, n)
		if err := img.ReadAt(got, off); err != nil {
			t.Fatalf("read %d at %d: %v", n, off, err)
		}
		if i := firstDiff(got, want[off:off+n]); i >= 0 {
			t.Fatalf("read %d at %d: first difference at byte %d", n, off, i)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestQcow2QemuImages reads images made by qemu-img in the forms cloud
// images come in and compares every byte with the raw disk.
func TestQcow2QemuImages(t *testing.T) {
	qimg := needQemuImg(t)
	const size = 3<<20 + 512
	content := qcow2Content(size)
	cases := []struct {
		name string
		make func(t *testing.T, dir, raw string) (path string, want []byte)
	}{
		{"plain", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-O", "qcow2", raw, dir+"/d.qcow2")
			return dir + "/d.qcow2", content
		}},
		{"compressed", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-c", "-O", "qcow2", raw, dir+"/d.qcow2")
			return dir + "/d.qcow2", content
		}},
		{"version 2", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-O", "qcow2", "-o", "compat=0.10", raw, dir+"/d.qcow2")
			return dir + "/d.qcow2", content
		}},
		{"512-byte clusters", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-O", "qcow2", "-o", "cluster_size=512", raw, dir+"/d.qcow2")
			return dir + "/d.qcow2", content
		}},
		{"2 MiB clusters compressed", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-c", "-O", "qcow2", "-o", "cluster_size=2M", raw, dir+"/d.qcow2")
			return dir + "/d.qcow2", content
		}},
		{"zero clusters", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-O", "qcow2", raw, dir+"/d.qcow2")
			want := bytes.Clone(content)
			qemuIO(t, dir+"/d.qcow2", "write -z 1M 192k", "write -z 2112k 4k")
			clear(want[1<<20 : 1<<20+192<<10])
			clear(want[2112<<10 : 2116<<10])
			return dir + "/d.qcow2", want
		}},
		{"backing chain", func(t *testing.T, dir, raw string) (string, []byte) {
			// base (compressed) <- mid <- top, with
			// relative names, the top in a subdirectory and larger than
			// its backing file (the rest reads as zero).
			runTool(t, qimg, "convert", "-c", "-O", "qcow2", raw, dir+"/base.qcow2")
			runTool(t, qimg, "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", dir+"/mid.qcow2")
			qemuIO(t, dir+"/mid.qcow2", "write -P 0xab 100k 70k", "write -z 1M 64k")
			if err := os.Mkdir(dir+"/sub", 0o755); err != nil {
				t.Fatal(err)
			}
			runTool(t, qimg, "create", "-f", "qcow2", "-b", "../mid.qcow2", "-F", "qcow2", dir+"/sub/top.qcow2", "4M")
			qemuIO(t, dir+"/sub/top.qcow2", "write -P 0xcd 3000k 1000k", "write -z 130k 10k")
			want := make([]byte, 4<<20)
			copy(want, content)
			copy(want[100<<10:170<<10], bytes.Repeat([]byte{0xab}, 70<<10))
			clear(want[1<<20 : 1<<20+64<<10])
			copy(want[3000<<10:4000<<10], bytes.Repeat([]byte{0xcd}, 1000<<10))
			clear(want[130<<10 : 140<<10])
			return dir + "/sub/top.qcow2", want
		}},
		{"raw backing file", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "create", "-f", "qcow2", "-b", raw, "-F", "raw", dir+"/top.qcow2")
			qemuIO(t, dir+"/top.qcow2", "write -P 0x11 65000 1000")
			want := bytes.Clone(content)
			copy(want[65000:66000], bytes.Repeat([]byte{0x11}, 1000))
			return dir + "/top.qcow2", want
		}},
		{"extended L2 over a backing file", func(t *testing.T, dir, raw string) (string, []byte) {
			runTool(t, qimg, "convert", "-O", "qcow2", raw, dir+"/base.qcow2")
			runTool(t, qimg, "create", "-f", "qcow2", "-o", "extended_l2=on", "-b", "base.qcow2", "-F", "qcow2", dir+"/top.qcow2")
			qemuIO(t, dir+"/top.qcow2", "write -P 0x22 6k 2k", "write -z 20k 4k")
			want := bytes.Clone(content)
			copy(want[6<<10:8<<10], bytes.Repeat([]byte{0x22}, 2<<10))
			clear(want[20<<10 : 24<<10])
			return dir + "/top.qcow2", want
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			raw := writeFile(t, dir, "d.raw", content)
			path, want := c.make(t, dir, raw)
			q := openTestQcow2(t, path)
			checkImageBytes(t, q, want)
			if fmt, err := DiskFormat(path); err != nil || fmt != "qcow2" {
				t.Errorf("DiskFormat = %q, %v", fmt, err)
			}
		})
	}
}

// qemuIO runs qemu-io commands on a qcow2 image, skipping without qemu-io.
func qemuIO(t *testing.T, path string, cmds ...string) {
	t.Helper()
	if _, err := exec.LookPath("qemu-io"); err != nil {
		t.Skip("qemu-io (qemu-utils) not installed")
	}
	args := []string{"-f", "qcow2"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	runTool(t, "qemu-io", append(args, path)...)
}

// Hand-built images need no qemu-img: a version 3 header with 512-byte
// clusters, one L1 entry and one L2 table, clusters of every kind.
const (
	hbCluster  = 512
	hbClusters = 12
	hbL1Off    = 1 * hbCluster
	hbL2Off    = 2 * hbCluster
	hbDataOff  = 3 * hbCluster
)

// hbKind is what a hand-built image holds in a cluster.
type hbKind int

const (
	hbData hbKind = iota
	hbUnallocated
	hbZero
	hbCompressed
)

var hbLayout = [hbClusters]hbKind{hbData, hbUnallocated, hbZero, hbCompressed, hbData, hbCompressed,
	hbData, hbZero, hbUnallocated, hbData, hbCompressed, hbData}

// buildQcow2 returns a hand-built image and the disk it holds.
func buildQcow2(t testing.TB) (img, disk []byte) {
	t.Helper()
	be := binary.BigEndian
	img = make([]byte, hbDataOff)
	disk = make([]byte, hbClusters*hbCluster)
	h := img[:qcow2HeaderV3+8] // the header, then an end-of-extensions marker
	copy(h, qcow2Magic)
	be.PutUint32(h[4:], 3)
	be.PutUint32(h[20:], 9) // cluster bits
	be.PutUint64(h[24:], uint64(len(disk)))
	be.PutUint32(h[36:], 1) // L1 entries
	be.PutUint64(h[40:], hbL1Off)
	be.PutUint32(h[96:], 4) // refcount order
	be.PutUint32(h[100:], qcow2HeaderV3)
	be.PutUint64(img[hbL1Off:], hbL2Off|1<<63)
	for k, kind := range hbLayout {
		data := pattern(hbCluster, byte(k+1))
		entry := img[hbL2Off+8*k:]
		switch kind {
		case hbData:
			img = append(img, make([]byte, -len(img)&(hbCluster-1))...) // clusters are aligned
			be.PutUint64(entry, uint64(len(img))|1<<63)
			img = append(img, data...)
			copy(disk[k*hbCluster:], data)
		case hbZero:
			be.PutUint64(entry, 1)
		case hbCompressed:
			var z bytes.Buffer
			w, _ := flate.NewWriter(&z, flate.BestCompression)
			w.Write(data)
			w.Close()
			// Descriptor: host offset in bits 0..60, additional 512-byte
			// sectors in bit 61 (cluster bits 9).
			sectors := uint64((z.Len()+511)/512 - 1)
			be.PutUint64(entry, 1<<62|sectors<<61|uint64(len(img)))
			img = append(img, z.Bytes()...)
			img = append(img, make([]byte, 512)...) // room for the library's whole-sector read
			copy(disk[k*hbCluster:], data)
		}
	}
	return img, disk
}

func TestQcow2HandBuilt(t *testing.T) {
	img, disk := buildQcow2(t)
	path := writeFile(t, t.TempDir(), "hb.qcow2", img)
	checkImageBytes(t, openTestQcow2(t, path), disk)
}

// patchedQcow2 writes the hand-built image with patch applied.
func patchedQcow2(t *testing.T, patch func(img []byte) []byte) string {
	t.Helper()
	img, _ := buildQcow2(t)
	return writeFile(t, t.TempDir(), "p.qcow2", patch(img))
}

func be32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
}

func be64(off int, v uint64) func([]byte) []byte {
	return func(b []byte) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
}

// withBacking names a backing file (and optionally its format) in a
// hand-built image: the name goes after the data, the format in a header
// extension.
func withBacking(name, format string) func([]byte) []byte {
	return func(b []byte) []byte {
		be := binary.BigEndian
		if format != "" {
			ext := make([]byte, 8+(len(format)+7)/8*8+8)
			be.PutUint32(ext, 0xe2792aca)
			be.PutUint32(ext[4:], uint32(len(format)))
			copy(ext[8:], format)
			copy(b[qcow2HeaderV3:], ext)
		}
		be.PutUint64(b[8:], uint64(len(b)))
		be.PutUint32(b[16:], uint32(len(name)))
		return append(b, name...)
	}
}

// TestQcow2Refused checks that what popek cannot read correctly, or that
// is malformed, is refused at open with a message naming the problem.
func TestQcow2Refused(t *testing.T) {
	cases := []struct {
		name    string
		path    func(t *testing.T) string
		errPart string
	}{
		{"AES encryption", func(t *testing.T) string { return patchedQcow2(t, be32(32, 1)) }, "encrypted image (AES)"},
		{"LUKS encryption", func(t *testing.T) string { return patchedQcow2(t, be32(32, 2)) }, "encrypted image (LUKS)"},
		{"external data file", func(t *testing.T) string { return patchedQcow2(t, be64(72, qcow2IncExtData)) }, "external data file"},
		{"unknown incompatible feature", func(t *testing.T) string { return patchedQcow2(t, be64(72, 1<<9)) }, "unknown incompatible feature bits 0x200"},
		{"marked corrupt", func(t *testing.T) string { return patchedQcow2(t, be64(72, qcow2IncCorrupt)) }, "marked corrupt"},
		{"zstd", func(t *testing.T) string {
			return patchedQcow2(t, func(b []byte) []byte {
				be32(100, 112)(b)
				b[104] = 1
				be64(72, qcow2IncCompress)(b)
				return b
			})
		}, "compression type 1"},
		{"version 1", func(t *testing.T) string { return patchedQcow2(t, be32(4, 1)) }, "version 1"},
		{"cluster bits 8", func(t *testing.T) string { return patchedQcow2(t, be32(20, 8)) }, "cluster size 2^8"},
		{"cluster bits 63", func(t *testing.T) string { return patchedQcow2(t, be32(20, 63)) }, "cluster size 2^63"},
		{"huge virtual size", func(t *testing.T) string { return patchedQcow2(t, be64(24, 1<<62)) }, "virtual size"},
		{"zero virtual size", func(t *testing.T) string { return patchedQcow2(t, be64(24, 0)) }, "virtual size 0"},
		{"huge L1 table", func(t *testing.T) string { return patchedQcow2(t, be32(36, 0xffffffff)) }, "L1 table of 4294967295 entries"},
		{"L1 table too small", func(t *testing.T) string { return patchedQcow2(t, be64(24, 1<<20)) }, "does not cover"},
		{"L1 table past EOF", func(t *testing.T) string { return patchedQcow2(t, be64(40, 1<<40)) }, "past the end of the file"},
		{"L1 table misaligned", func(t *testing.T) string { return patchedQcow2(t, be64(40, 520)) }, "bad L1 table offset"},
		{"header length", func(t *testing.T) string { return patchedQcow2(t, be32(100, 50)) }, "header length"},
		{"truncated header", func(t *testing.T) string {
			return patchedQcow2(t, func(b []byte) []byte { return b[:60] })
		}, "truncated header"},
		{"truncated L1", func(t *testing.T) string {
			return patchedQcow2(t, func(b []byte) []byte { return b[:hbL1Off+4] })
		}, "past the end of the file"},
		{"backing name too long", func(t *testing.T) string { return patchedQcow2(t, withBacking(strings.Repeat("a", 1024), "")) }, "backing file name length"},
		{"backing name past EOF", func(t *testing.T) string {
			return patchedQcow2(t, func(b []byte) []byte { return be32(16, 100)(withBacking("x", "")(b)) })
		}, "past the end"},
		{"missing backing file", func(t *testing.T) string { return patchedQcow2(t, withBacking("nonexistent.qcow2", "")) }, "no such file"},
		{"backing file is a FIFO", func(t *testing.T) string {
			p := patchedQcow2(t, withBacking("fifo", ""))
			if err := unix.Mkfifo(filepath.Join(filepath.Dir(p), "fifo"), 0o600); err != nil {
				t.Skip(err)
			}
			return p
		}, "not a regular file"},
		{"backing file is itself", func(t *testing.T) string { return patchedQcow2(t, withBacking("p.qcow2", "qcow2")) }, "loops back"},
		{"backing file format vmdk", func(t *testing.T) string {
			p := patchedQcow2(t, withBacking("b.vmdk", "vmdk"))
			writeFile(t, filepath.Dir(p), "b.vmdk", make([]byte, 4096))
			return p
		}, `format "vmdk"`},
		{"backing format qcow2 on a raw file", func(t *testing.T) string {
			p := patchedQcow2(t, withBacking("b.raw", "qcow2"))
			writeFile(t, filepath.Dir(p), "b.raw", make([]byte, 4096))
			return p
		}, "not a qcow2 image"},
		{"encrypted backing file", func(t *testing.T) string {
			dir := t.TempDir()
			img, _ := buildQcow2(t)
			writeFile(t, dir, "enc.qcow2", be32(32, 2)(bytes.Clone(img)))
			return writeFile(t, dir, "top.qcow2", withBacking("enc.qcow2", "qcow2")(img))
		}, "backing file /"},
		{"cycle of two", func(t *testing.T) string {
			dir := t.TempDir()
			img, _ := buildQcow2(t)
			writeFile(t, dir, "b.qcow2", withBacking("a.qcow2", "")(bytes.Clone(img)))
			return writeFile(t, dir, "a.qcow2", withBacking("b.qcow2", "")(img))
		}, "loops back"},
		{"chain too long", func(t *testing.T) string {
			dir := t.TempDir()
			img, _ := buildQcow2(t)
			writeFile(t, dir, "l0.qcow2", img)
			for i := 1; i <= qcow2MaxChain; i++ {
				writeFile(t, dir, fmt.Sprintf("l%d.qcow2", i), withBacking(fmt.Sprintf("l%d.qcow2", i-1), "qcow2")(bytes.Clone(img)))
			}
			return filepath.Join(dir, fmt.Sprintf("l%d.qcow2", qcow2MaxChain))
		}, "longer than 16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			for _, cfg := range []BlockConfig{
				{Path: path, ReadOnly: true},
				{Path: path, Overlay: filepath.Join(t.TempDir(), "o.ovl")},
			} {
				b, err := NewBlock(cfg)
				if err == nil {
					b.Close()
					t.Fatalf("%+v opened", cfg)
				}
				if !strings.Contains(err.Error(), c.errPart) || !strings.Contains(err.Error(), "qcow2") {
					t.Fatalf("error %q, want mention of qcow2 and %q", err, c.errPart)
				}
				t.Log(err)
				if cfg.Overlay != "" {
					if _, err := os.Stat(cfg.Overlay); err == nil {
						t.Error("an overlay was created for a refused base")
					}
				}
			}
		})
	}
}

// TestQcow2ChainAtLimit opens the longest chain allowed, so the limit in
// TestQcow2Refused is the limit and not some other failure.
func TestQcow2ChainAtLimit(t *testing.T) {
	dir := t.TempDir()
	img, disk := buildQcow2(t)
	writeFile(t, dir, "l0.qcow2", img)
	// Each layer above the first leaves every cluster to its backing file.
	empty := bytes.Clone(img[:hbDataOff])
	clear(empty[hbL2Off:])
	for i := 1; i < qcow2MaxChain; i++ {
		writeFile(t, dir, fmt.Sprintf("l%d.qcow2", i), withBacking(fmt.Sprintf("l%d.qcow2", i-1), "qcow2")(bytes.Clone(empty)))
	}
	checkImageBytes(t, openTestQcow2(t, filepath.Join(dir, fmt.Sprintf("l%d.qcow2", qcow2MaxChain-1))), disk)
}

func TestQcow2WritableRefused(t *testing.T) {
	img, _ := buildQcow2(t)
	path := writeFile(t, t.TempDir(), "w.qcow2", img)
	_, err := NewBlock(BlockConfig{Path: path})
	if !errors.Is(err, ErrWritableQcow2) || !strings.Contains(err.Error(), path) {
		t.Fatalf("writable qcow2: error %v, want ErrWritableQcow2 naming the file", err)
	}
	// A file popek cannot open for writing is still recognised as qcow2.
	os.Chmod(path, 0o444)
	if _, err := NewBlock(BlockConfig{Path: path}); !errors.Is(err, ErrWritableQcow2) {
		t.Fatalf("read-only qcow2 file opened writable: %v", err)
	}
	if got := fileHash(t, path); got != sha256.Sum256(img) {
		t.Fatal("the qcow2 file changed")
	}
}

// TestQcow2RefusedQemuImages checks the refusals on images qemu-img made
// with the features popek does not read.
func TestQcow2RefusedQemuImages(t *testing.T) {
	qimg := needQemuImg(t)
	cases := []struct {
		name    string
		args    []string
		errPart string
	}{
		{"LUKS", []string{"--object", "secret,id=sec0,data=123456", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"}, "encrypted image (LUKS)"},
		{"AES", []string{"--object", "secret,id=sec0,data=123456", "-o", "encrypt.format=aes,encrypt.key-secret=sec0"}, "encrypted image (AES)"},
		{"external data file", []string{"-o", "data_file=ext.raw"}, "external data file"},
		{"zstd", []string{"-o", "compression_type=zstd"}, "compression type 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.qcow2")
			cmd := exec.Command(qimg, append(append([]string{"create", "-f", "qcow2"}, c.args...), path, "1M")...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				// qemu-img calibrates LUKS's PBKDF2 against the thread CPU
				// clock; where that clock is too coarse it gives up. The
				// header refusal is still covered by TestQcow2Refused.
				if bytes.Contains(out, []byte("Unable to get accurate CPU usage")) {
					t.Skipf("qemu-img cannot make a LUKS image on this host: %s", out)
				}
				t.Fatalf("qemu-img: %v\n%s", err, out)
			}
			_, err := NewBlock(BlockConfig{Path: path, ReadOnly: true})
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Fatalf("error %v, want mention of %q", err, c.errPart)
			}
		})
	}
}

const blkROFeatures = FeatureVersion1 | BlockFRO | BlockFFlush | BlockFSegMax | BlockFBlkSize

// l2Entry is the offset in the hand-built image of cluster k's L2 entry.
func l2Entry(k int) int { return hbL2Off + 8*k }

// TestQcow2CorruptReads serves images whose tables point past the end of
// the file or hold garbage: the affected requests complete with IOERR,
// the rest of the disk stays readable, nothing panics.
func TestQcow2CorruptReads(t *testing.T) {
	cases := []struct {
		name  string
		patch func([]byte) []byte
		bad   []int // clusters that must fail
	}{
		{"data cluster past EOF", be64(l2Entry(4), 1<<40|1<<63), []int{4}},
		{"compressed cluster past EOF", be64(l2Entry(3), 1<<62|1<<55), []int{3}},
		{"compressed garbage", be64(l2Entry(5), 1<<62|hbL2Off), []int{5}},
		{"L2 table past EOF", be64(hbL1Off, 1<<50|1<<63), []int{0, 3, 4, 11}},
		{"truncated file", func(b []byte) []byte { return b[:len(b)-hbCluster] }, []int{11}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, disk := buildQcow2(t)
			path := writeFile(t, t.TempDir(), "c.qcow2", c.patch(img))
			d := newBlkDriver(t, BlockConfig{Path: path, ReadOnly: true}, blkROFeatures)
			bad := map[int]bool{}
			for _, k := range c.bad {
				bad[k] = true
			}
			for k := range hbClusters {
				got, s := d.read(uint64(k), hbCluster)
				switch {
				case bad[k] && s != blkSIOErr:
					t.Errorf("cluster %d: status %d, want IOERR", k, s)
				case !bad[k] && hbLayout[k] != hbUnallocated && c.name == "L2 table past EOF":
					if s != blkSIOErr {
						t.Errorf("cluster %d: status %d with its L2 table gone", k, s)
					}
				case !bad[k] && c.name != "L2 table past EOF" && (s != blkSOK || !bytes.Equal(got, disk[k*hbCluster:(k+1)*hbCluster])):
					t.Errorf("cluster %d: status %d, data equal %v", k, s, bytes.Equal(got, disk[k*hbCluster:(k+1)*hbCluster]))
				}
			}
			if st := d.blk.Stats(); st.Errors == 0 {
				t.Error("no request counted as failed")
			}
		})
	}
}

// TestQcow2ThroughVirtio serves a qcow2 image read-only: the guest sees
// the virtual size, a read-only disk, the image's bytes; writes fail.
func TestQcow2ThroughVirtio(t *testing.T) {
	img, disk := buildQcow2(t)
	path := writeFile(t, t.TempDir(), "v.qcow2", img)
	d := newBlkDriver(t, BlockConfig{Path: path, ReadOnly: true, Serial: "q"}, blkROFeatures)
	if d.blk.Capacity() != uint64(len(disk))/512 {
		t.Fatalf("capacity %d sectors, want %d", d.blk.Capacity(), len(disk)/512)
	}
	if d.blk.Features()&BlockFRO == 0 {
		t.Fatal("qcow2 disk not offered read-only")
	}
	if got, s := d.read(0, uint32(len(disk))); s != blkSOK || !bytes.Equal(got, disk) {
		t.Fatalf("read status %d, data equal %v", s, bytes.Equal(got, disk))
	}
	if s := d.write(0, pattern(512, 3)); s != blkSIOErr {
		t.Fatalf("write status %d, want IOERR", s)
	}
	if got := d.blk.SnapshotConfig(); got != (BlockConfig{Path: path, ReadOnly: true, Serial: "q"}) {
		t.Fatalf("snapshot config %+v", got)
	}
	if got := fileHash(t, path); got != sha256.Sum256(img) {
		t.Fatal("the qcow2 file changed")
	}
}

// TestQcow2OverlayBase writes through an overlay on a qcow2 base: the
// guest's data persist in the overlay across a reopen, the qcow2 file
// never changes, and the overlay is tied to that base.
func TestQcow2OverlayBase(t *testing.T) {
	img, disk := buildQcow2(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "b.qcow2", img)
	ovl := filepath.Join(dir, "b.ovl")
	cfg := BlockConfig{Path: path, Overlay: ovl}
	want := bytes.Clone(disk)
	ok := t.Run("guest writes", func(t *testing.T) { // the device closes at its end
		d := newBlkDriver(t, cfg, blkAllFeatures)
		if d.blk.Capacity() != uint64(len(disk))/512 {
			t.Fatalf("capacity %d", d.blk.Capacity())
		}
		// Small writes inside the overlay's first (64 KiB) cluster: copy-on-write
		// reads the rest of the cluster from the qcow2 base.
		data := pattern(2048, 9)
		if s := d.write(1, data); s != blkSOK {
			t.Fatalf("write status %d", s)
		}
		copy(want[512:], data)
		if _, s := d.do(false, out(blkHeader(blkTWriteZeroes, 0)), out(dwzSegments([3]uint64{8, 2, 0}))); s != blkSOK {
			t.Fatalf("write zeroes status %d", s)
		}
		clear(want[8*512 : 10*512])
		if _, s := d.do(false, out(blkHeader(blkTFlush, 0))); s != blkSOK {
			t.Fatalf("flush status %d", s)
		}
		if got, s := d.read(0, uint32(len(disk))); s != blkSOK || !bytes.Equal(got, want) {
			t.Fatalf("read back status %d, first difference %d", s, firstDiff(got, want))
		}
		if got := d.blk.SnapshotConfig(); got != cfg {
			t.Fatalf("snapshot config %+v, want %+v", got, cfg)
		}
	})
	if !ok {
		return
	}

	// Reopened (as a restore does, from the same BlockConfig).
	o, err := openOverlay(path, ovl, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := o.base.(*qcow2Image); !ok {
		t.Fatalf("base reopened as %T", o.base)
	}
	checkImageBytes(t, o, want)
	o.Close()
	if got := fileHash(t, path); got != sha256.Sum256(img) {
		t.Fatal("the qcow2 base changed")
	}

	// Another qcow2 of the same virtual size is not the base.
	other := bytes.Clone(img)
	copy(other[hbDataOff-16:], "different header") // inside the first MiB
	os.WriteFile(path, other, 0o644)
	if _, err := NewBlock(cfg); err == nil || !strings.Contains(err.Error(), "different base") {
		t.Fatalf("overlay on another base: %v", err)
	}
}
