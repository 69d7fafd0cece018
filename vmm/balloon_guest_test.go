package vmm

import "testing"

// TestBalloonLinuxGuest boots the default guest with a balloon of 16 MiB:
// the guest's driver fills it at boot; the host then grows it to 64 MiB
// and the VM's host memory drops below what the guest may still use;
// the guest's statistics arrive; a revert brings back the size it had at
// the snapshot; deflating to 0 gives every page back.
func TestBalloonLinuxGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux")
	}
	const mib = 1 << 20
	m := newTestManager(t, Options{})
	if _, err := m.Create(&Config{Name: "stopped", Memory: "128M", Balloon: &BalloonConfig{Size: "16M"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetBalloon("stopped", "8M"); KindOf(err) != KindConflict {
		t.Errorf("balloon of a stopped VM: %v, want a conflict", err)
	}
	sh := bootShell(t, m, &Config{Name: "bl", Memory: "128M", Balloon: &BalloonConfig{Size: "16M"}})
	actual := func() uint64 {
		st, err := m.Stats("bl")
		if err != nil || st.Balloon == nil {
			t.Fatalf("stats: %+v, %v", st.Balloon, err)
		}
		return st.Balloon.ActualBytes
	}
	waitFor(t, "the guest to fill the 16 MiB boot balloon", func() bool { return actual() == 16*mib })

	// Touch memory, so that the host has it resident, then free it.
	sh.run("dd if=/dev/zero of=/tmp/fill bs=1M count=48 2>/dev/null; rm /tmp/fill; echo filled-$((6*7))", "filled-42")
	if _, err := m.SetBalloon("bl", "128M"); KindOf(err) != KindInvalid {
		t.Errorf("a balloon as large as the guest: %v, want invalid", err)
	}
	if _, err := m.SetBalloon("bl", "a lot"); KindOf(err) != KindInvalid {
		t.Errorf("a malformed size: %v, want invalid", err)
	}
	in, err := m.SetBalloon("bl", "64M")
	if err != nil || in.TargetBytes != 64*mib {
		t.Fatalf("set 64M: %+v, %v", in, err)
	}
	waitFor(t, "the guest to inflate the balloon to 64 MiB", func() bool { return actual() == 64*mib })
	st, _ := m.Stats("bl")
	t.Logf("balloon 64 MiB: host resident %d MiB of %d MiB", st.ResidentBytes/mib, st.MemoryBytes/mib)
	if st.ResidentBytes > st.MemoryBytes-64*mib {
		t.Errorf("host resident %d MiB with 64 MiB of 128 MiB in the balloon: the balloon's pages were not freed", st.ResidentBytes/mib)
	}

	in, err = m.Balloon(t.Context(), "bl")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("balloon: %+v", in)
	if !in.StatsFresh || in.Stats["total_memory"] == 0 || in.Stats["free_memory"] == 0 || in.GuestMemoryBytes != 64*mib {
		t.Errorf("balloon info %+v: want fresh statistics and 64 MiB left to the guest", in)
	}

	if _, err := m.CreateSnapshot("bl", SnapshotRequest{Name: "b64"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetBalloon("bl", "32M"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to deflate the balloon to 32 MiB", func() bool { return actual() == 32*mib })
	if _, err := m.RevertSnapshot("bl", "b64"); err != nil {
		t.Fatal(err)
	}
	if in, err := m.Balloon(t.Context(), "bl"); err != nil || in.TargetBytes != 64*mib || in.ActualBytes != 64*mib {
		t.Fatalf("after the revert: %+v, %v; want the snapshot's 64 MiB balloon", in, err)
	}

	if _, err := m.SetBalloon("bl", "0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to deflate the balloon", func() bool { return actual() == 0 })
	sh.run("echo back-$((6*7))", "back-42")

	// A size set at run time outlives a guest reboot, as in QEMU.
	if _, err := m.SetBalloon("bl", "24M"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the guest to inflate the balloon to 24 MiB", func() bool { return actual() == 24*mib })
	cs, _ := m.Console("bl")
	_, end := cs.Offsets()
	if _, err := m.ConsoleInput(t.Context(), "bl", []byte("shutdown reboot\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := waitConsoleOrPanic(m, "bl", end, "popek guest: Linux"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rebooted guest to fill the run-time size again", func() bool {
		st, _ := m.Stats("bl")
		return st.Boots == 2 && st.Balloon != nil && st.Balloon.TargetBytes == 24*mib && st.Balloon.ActualBytes == 24*mib
	})
}

// TestBalloonErrors: a VM without a balloon has none to show or set, and
// configs with an impossible balloon are refused.
func TestBalloonErrors(t *testing.T) {
	m := newTestManager(t, Options{})
	dir := t.TempDir()
	if _, err := m.Create(bareConfig("nb", writeGuest(t, dir, "echo", echo))); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("nb"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Balloon(t.Context(), "nb"); KindOf(err) != KindConflict {
		t.Errorf("balloon of a VM without one: %v, want a conflict", err)
	}
	if _, err := m.SetBalloon("nb", "1M"); KindOf(err) != KindConflict {
		t.Errorf("set the balloon of a VM without one: %v, want a conflict", err)
	}
	if _, err := m.Balloon(t.Context(), "nope"); KindOf(err) != KindNotFound {
		t.Errorf("balloon of a missing VM: %v", err)
	}
	for _, size := range []Size{"16M", "1G", "many"} {
		c := bareConfig("b-"+string(size), writeGuest(t, dir, "echo", echo))
		c.Balloon = &BalloonConfig{Size: size}
		if _, err := m.Create(c); KindOf(err) != KindInvalid {
			t.Errorf("balloon size %s of a 16 MiB VM: %v, want invalid", size, err)
		}
	}
}
