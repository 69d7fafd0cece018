package devices

import "testing"

func TestSiFiveTestWrites(t *testing.T) {
	type exit struct {
		kind ExitKind
		code int
	}
	tests := []struct {
		name string
		off  uint64
		size int
		val  uint64
		want []exit
	}{
		{"poweroff", 0, 4, 0x5555, []exit{{ExitPoweroff, 0}}},
		{"poweroff 16-bit (OpenSBI)", 0, 2, 0x5555, []exit{{ExitPoweroff, 0}}},
		{"reset", 0, 4, 0x7777, []exit{{ExitReset, 0}}},
		{"fail with code", 0, 4, 0x3333 | 42<<16, []exit{{ExitFail, 42}}},
		{"fail 16-bit carries no code", 0, 2, 0x3333 | 42<<16, []exit{{ExitFail, 0}}},
		{"fail 64-bit keeps 16-bit code", 0, 8, 0x1_0000_0000 | 0xffff<<16 | 0x3333, []exit{{ExitFail, 0xffff}}},
		{"pass ignores high bits", 0, 4, 0x12345555, []exit{{ExitPoweroff, 0}}},
		{"unknown command", 0, 4, 0x1234, nil},
		{"other offset", 4, 4, 0x5555, nil},
		{"byte write", 0, 1, 0x55, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []exit
			d := NewSiFiveTest(func(k ExitKind, code int) { got = append(got, exit{k, code}) })
			d.Write(tc.off, tc.size, tc.val)
			if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
				t.Fatalf("exits %v, want %v", got, tc.want)
			}
			if v := d.Read(tc.off, tc.size); v != 0 {
				t.Fatalf("read %#x", v)
			}
		})
	}
}

func TestSiFiveTestNilCallback(t *testing.T) {
	d := NewSiFiveTest(nil)
	d.Write(0, 4, 0x5555) // must not panic
	if err := d.RestoreState(d.SaveState()); err != nil {
		t.Fatal(err)
	}
}

func TestExitKindString(t *testing.T) {
	for k, want := range map[ExitKind]string{ExitPoweroff: "poweroff", ExitReset: "reset", ExitFail: "fail", 9: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}
