package snapshot

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/devices/virtio"
)

// nullNet is a network backend that drops every frame.
type nullNet struct{}

func (nullNet) SetReceiver(func([]byte)) {}
func (nullNet) Send([]byte)              {}
func (nullNet) Close() error             { return nil }

// cloneDevices builds the devices of a clone: the network and vsock
// devices take the identity the DeviceSpec carries, the rest default.
func cloneDevices(dir string, n int) func(DeviceSpec) (virtio.Device, error) {
	return func(spec DeviceSpec) (virtio.Device, error) {
		switch {
		case spec.Net != nil:
			mac, err := net.ParseMAC(spec.Net.MAC)
			if err != nil {
				return nil, err
			}
			return virtio.NewNet(virtio.NetConfig{MAC: mac, Backend: nullNet{}})
		case spec.Vsock != nil:
			return virtio.NewVsock(spec.Vsock.CID, filepath.Join(dir, fmt.Sprintf("vsock-%d", n)))
		}
		return nil, nil
	}
}

// TestCloneTen clones ten VMs from one template snapshot at once. Every
// clone runs and answers on its console, each has its own MAC and vsock
// CID, and host memory (PSS) grows by far less than ten guests' worth,
// because the clones share the snapshot's pages. POPEK_SLOW=1 uses 256 MiB
// guests instead of 64 MiB.
func TestCloneTen(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	memSize := uint64(64 << 20)
	if os.Getenv("POPEK_SLOW") == "1" {
		memSize = 256 << 20
	}
	const clones = 10
	dir := t.TempDir()
	srcNet, err := virtio.NewNet(virtio.NetConfig{MAC: net.HardwareAddr{0x52, 0x54, 0, 1, 2, 3}, Backend: nullNet{}})
	if err != nil {
		t.Fatal(err)
	}
	srcVsock, err := virtio.NewVsock(3, filepath.Join(dir, "vsock-src"))
	if err != nil {
		t.Fatal(err)
	}
	log := newConsoleLog()
	v := bootGuest(t, guestConfig(1, memSize, log, srcNet, srcVsock, virtio.NewRNG()))
	v.run("echo template-ready")
	snap, err := Write(filepath.Join(dir, "template"), v.m, WriteOptions{Name: "template"})
	if err != nil {
		t.Fatal(err)
	}
	v.m.Close()
	if err := MarkTemplate(snap.Dir); err != nil {
		t.Fatal(err)
	}
	tmpl, err := OpenWith(snap.Dir, OpenOptions{Verify: VerifyAll})
	if err != nil {
		t.Fatal(err)
	}
	if !tmpl.Manifest.Template || tmpl.Manifest.ID != snap.Manifest.ID {
		t.Fatalf("template mark: %v, id %s -> %s", tmpl.Manifest.Template, snap.Manifest.ID, tmpl.Manifest.ID)
	}

	runtime.GC()
	before, err := smapsRollup()
	if err != nil {
		t.Skipf("no smaps_rollup: %v", err)
	}
	vms := make([]*vm, clones)
	var wg sync.WaitGroup
	errs := make([]error, clones)
	machines := make([]*board.Machine, clones)
	logs := make([]*consoleLog, clones)
	for i := range clones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i] = newConsoleLog()
			machines[i], errs[i] = tmpl.Clone(CloneOptions{RestoreOptions: RestoreOptions{
				Console: logs[i], DiskDir: filepath.Join(dir, fmt.Sprint("clone", i)), Device: cloneDevices(dir, i),
			}})
		}()
	}
	wg.Wait()
	for i := range clones {
		if errs[i] != nil {
			t.Fatalf("clone %d: %v", i, errs[i])
		}
		vms[i] = startVM(t, machines[i], logs[i])
	}
	var cwg sync.WaitGroup
	outs := make([]string, clones)
	for i, c := range vms {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			c.t = &quietT{TB: t}
			outs[i] = c.run(fmt.Sprintf("echo clone-$((%d*1000+7))", i))
		}()
	}
	cwg.Wait()
	macs, cids := map[string]int{"52:54:00:01:02:03": -1}, map[uint64]int{3: -1}
	for i, c := range vms {
		if want := fmt.Sprintf("clone-%d", i*1000+7); outs[i] != want {
			t.Errorf("clone %d answered %q, want %q", i, outs[i], want)
		}
		devs := c.m.VirtioDevices()
		mac := devs[0].(*virtio.Net).SaveState().MAC
		ms := net.HardwareAddr(mac[:]).String()
		cid := devs[1].(*virtio.Vsock).CID()
		if j, dup := macs[ms]; dup {
			t.Errorf("clone %d has MAC %s, as %d does", i, ms, j)
		}
		if j, dup := cids[cid]; dup {
			t.Errorf("clone %d has CID %d, as %d does", i, cid, j)
		}
		macs[ms], cids[cid] = i, i
	}
	after, _ := smapsRollup()
	growth := (after["Pss"] - before["Pss"]) << 10
	t.Logf("%d clones of a %d MiB guest: PSS +%d MiB (%.1f MiB per clone), RSS +%d MiB, anonymous +%d MiB, shared file pages %d MiB",
		clones, memSize>>20, growth>>20, float64(growth)/clones/(1<<20), (after["Rss"]-before["Rss"])>>10,
		(after["Anonymous"]-before["Anonymous"])>>10, after["Shared_Clean"]>>10)
	if limit := int64(clones) * int64(memSize) / 3; growth > limit {
		t.Errorf("host memory grew by %d MiB for %d clones of %d MiB: the clones do not share the snapshot's pages",
			growth>>20, clones, memSize>>20)
	}
}

// quietT lets goroutines other than the test's use vm helpers: a failure
// is reported with Errorf and the goroutine stops.
type quietT struct{ testing.TB }

func (q *quietT) Fatalf(format string, args ...any) {
	q.TB.Errorf(format, args...)
	runtime.Goexit()
}
