package isatest

import (
	"strings"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(7, 300).Program(300), Generate(7, 300).Program(300)
	if a != b {
		t.Fatal("same seed produced different programs")
	}
	if Generate(8, 300).Program(300) == a {
		t.Fatal("different seeds produced the same program")
	}
}

func TestProgramPrefixRedirectsLabels(t *testing.T) {
	s := Generate(3, 100)
	for _, prefix := range []int{0, 1, 17, 99, 100} {
		p := s.Program(prefix)
		for _, line := range strings.Split(p, "\n") {
			if strings.Contains(line, "%L") {
				t.Fatalf("prefix %d: unresolved label in %q", prefix, line)
			}
		}
	}
	// a branch whose target lies past the prefix must go to the end
	for i, in := range s.Insns {
		if in.Target > i+1 {
			p := s.Program(i + 1)
			if !strings.Contains(p, "Lend") {
				t.Fatalf("prefix %d lacks the end label", i+1)
			}
			return
		}
	}
	t.Fatal("no forward branch in 100 instructions")
}

// TestGeneratedProgramsAssemble builds a few long streams so that an
// invalid operand combination shows up without QEMU.
func TestGeneratedProgramsAssemble(t *testing.T) {
	cc := needCC(t)
	dir := t.TempDir()
	d := &differ{t: t, cc: cc, dir: dir}
	for seed := int64(1000); seed < 1003; seed++ {
		if _, err := d.build(Generate(seed, 2000), 2000); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStateNames(t *testing.T) {
	cases := []struct {
		i    int
		want string
	}{{1, "x1"}, {31, "x31"}, {32, "f0"}, {63, "f31"}, {64, "fcsr"}, {65, "mem[scratch+0x0]"}, {66, "mem[scratch+0x8]"}}
	for _, c := range cases {
		if got := StateName(c.i); got != c.want {
			t.Errorf("StateName(%d) = %q, want %q", c.i, got, c.want)
		}
	}
}
