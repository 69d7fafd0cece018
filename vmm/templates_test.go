package vmm

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/popek-vm/popek/devices/virtio"
	"github.com/popek-vm/popek/vswitch"
)

// machineDevices are the virtio devices of the VM's running machine.
func machineDevices(t *testing.T, m *Manager, name string) []virtio.Device {
	t.Helper()
	v, err := m.vm(name)
	if err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.run == nil || v.run.machine == nil {
		t.Fatalf("%s has no machine", name)
	}
	return v.run.machine.VirtioDevices()
}

// deviceMAC is the MAC the NIC in slot has in the VM's running machine.
func deviceMAC(t *testing.T, m *Manager, name string, slot int) string {
	t.Helper()
	n, ok := machineDevices(t, m, name)[slot].(*virtio.Net)
	if !ok {
		t.Fatalf("%s: slot %d is not a NIC", name, slot)
	}
	return n.MAC().String()
}

func TestTemplates(t *testing.T) {
	state := t.TempDir()
	m := newTestManager(t, Options{StateDir: state, Backends: NewBackends(vswitch.NewRegistry(vswitch.Options{}))})
	img := diskVM(t, m, "src")
	// Give the source a NIC and a vsock device: the clones need new ones.
	v, _ := m.vm("src")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	v.cfg.Nets = []NetConfig{{Mode: "user", HostFwd: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:22", port)}}}
	v.cfg.Vsock = &VsockConfig{CID: 7, UDS: filepath.Join(t.TempDir(), "src.vsock")}
	if _, err := m.Start("src"); err != nil {
		t.Fatal(err)
	}
	_, err = m.CreateTemplate(TemplateRequest{Name: "t", VM: "ghost"})
	wantKind(t, "unknown VM", err, KindNotFound, "ghost")
	_, err = m.CreateTemplate(TemplateRequest{Name: "bad/name", VM: "src"})
	wantKind(t, "bad name", err, KindInvalid, "")
	tin, err := m.CreateTemplate(TemplateRequest{Name: "t", VM: "src"})
	if err != nil {
		t.Fatal(err)
	}
	if tin.SourceVM != "src" || tin.VCPUs != 1 || len(tin.VMs) != 0 {
		t.Fatalf("template %+v", tin)
	}
	_, err = m.CreateTemplate(TemplateRequest{Name: "t", VM: "src"})
	wantKind(t, "duplicate", err, KindConflict, `a template named "t" already exists`)
	// The source's disk changes later; the template keeps its own copy.
	scribble(t, img, "SRC!")

	// Machine fields come from the template.
	_, err = m.Create(&Config{Name: "x", Template: "t", Memory: "1G"})
	wantKind(t, "machine field", err, KindInvalid, "memory: a VM created from template")
	_, err = m.Create(&Config{Name: "x", Template: "nope"})
	wantKind(t, "unknown template", err, KindNotFound, `no template named "nope"`)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("c%d", i)
			in, err := m.Create(&Config{Name: name, Template: "t"})
			if err == nil && !in.ClonePending {
				err = fmt.Errorf("%s: not pending a clone", name)
			}
			if err == nil {
				_, err = m.Start(name)
			}
			if err == nil {
				_, err = m.ConsoleInput(t.Context(), name, []byte("hello-"+name))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	macs := map[string]string{}
	cids := map[uint64]bool{}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("c%d", i)
		waitConsole(t, m, name, 0, "hello-"+name)
		in, _ := m.Get(name)
		if in.ClonePending || in.Config.Template != "t" || len(in.Config.Nets[0].HostFwd) != 0 {
			t.Fatalf("%s: %+v", name, in)
		}
		mac := in.Config.Nets[0].MAC
		if got := deviceMAC(t, m, name, 1); got != mac {
			t.Fatalf("%s: config MAC %s, device %s", name, mac, got)
		}
		if other, dup := macs[mac]; dup || mac == deviceMAC(t, m, "src", 1) {
			t.Fatalf("%s has MAC %s like %s/src", name, mac, other)
		}
		macs[mac] = name
		if cids[in.Config.Vsock.CID] || in.Config.Vsock.CID == 7 || !strings.HasPrefix(in.Config.Vsock.UDS, state) {
			t.Fatalf("%s: vsock %+v", name, in.Config.Vsock)
		}
		cids[in.Config.Vsock.CID] = true
		// Its disk is the template's, on an overlay of its own.
		d := in.Config.Drives[0]
		if !strings.HasPrefix(d.Overlay, m.vmDisks(name)) || !strings.HasPrefix(d.File, m.templateDir("t")) {
			t.Fatalf("%s: drive %+v", name, d)
		}
	}
	err = m.DeleteTemplate("t")
	wantKind(t, "rm in use", err, KindConflict, "in use by VM(s) c0, c1, c2")
	if l := m.ListTemplates(); len(l) != 1 || strings.Join(l[0].VMs, ",") != "c0,c1,c2" {
		t.Fatalf("templates %+v", l)
	}

	// A clone stopped and started again boots its kernel cold, on its disks.
	if _, err := m.Stop("c0"); err != nil {
		t.Fatal(err)
	}
	cs, _ := m.Console("c0")
	_, end := cs.Offsets()
	if _, err := m.Start("c0"); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, m, "c0", end, ">")
	if in, _ := m.Get("c0"); in.ClonePending || in.Boots != 1 {
		t.Fatalf("c0 restarted: %+v", in)
	}

	// Definitions persist: after a restart the clones are there, c1 with
	// its pending state gone, a new one still pending.
	if _, err := m.Create(&Config{Name: "later", Template: "t"}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	m2 := newTestManager(t, Options{StateDir: state, Backends: NewBackends(vswitch.NewRegistry(vswitch.Options{}))})
	if in, err := m2.Get("c1"); err != nil || in.ClonePending || in.Config.Template != "t" {
		t.Fatalf("c1 after restart: %+v %v", in, err)
	}
	if in, err := m2.Get("later"); err != nil || !in.ClonePending {
		t.Fatalf("later after restart: %+v %v", in, err)
	}
	if _, err := m2.Start("later"); err != nil {
		t.Fatal(err)
	}
	m2.ConsoleInput(t.Context(), "later", []byte("still-echoing"))
	waitConsole(t, m2, "later", 0, "still-echoing")

	for _, n := range []string{"c0", "c1", "c2", "later"} {
		if err := m2.Delete(n, true); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(m2.vmDisks(n)); !os.IsNotExist(err) {
			t.Fatalf("%s's disks kept: %v", n, err)
		}
	}
	if err := m2.DeleteTemplate("t"); err != nil {
		t.Fatal(err)
	}
	if l := m2.ListTemplates(); len(l) != 0 {
		t.Fatalf("after rm: %+v", l)
	}
	wantKind(t, "rm again", m2.DeleteTemplate("t"), KindNotFound, "no template")
}

// TestTemplateFromSnapshot promotes an existing snapshot (incremental)
// into a template that does not depend on the VM's snapshots.
func TestTemplateFromSnapshot(t *testing.T) {
	m := newTestManager(t, Options{})
	diskVM(t, m, "src")
	m.Start("src")
	m.CreateSnapshot("src", SnapshotRequest{Name: "a"})
	if _, err := m.CreateSnapshot("src", SnapshotRequest{Name: "b", Incremental: true}); err != nil {
		t.Fatal(err)
	}
	_, err := m.CreateTemplate(TemplateRequest{Name: "t", VM: "src", Snapshot: "zz"})
	wantKind(t, "unknown snapshot", err, KindNotFound, `no snapshot "zz"`)
	if _, err := m.CreateTemplate(TemplateRequest{Name: "t", VM: "src", Snapshot: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("src", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(&Config{Name: "c", Template: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("c"); err != nil {
		t.Fatal(err)
	}
	m.ConsoleInput(t.Context(), "c", []byte("from-snapshot"))
	waitConsole(t, m, "c", 0, "from-snapshot")
	if l := m.ListTemplates(); len(l) != 1 || l[0].SourceSnapshot != "b" {
		t.Fatalf("templates %+v", l)
	}
}
