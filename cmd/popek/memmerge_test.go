package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// TestMemMergeFlag: guest RAM goes to same-page merging unless
// --mem-merge=false.
func TestMemMergeFlag(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "k.elf")
	if err := os.WriteFile(kernel, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		noMerge bool
	}{
		{nil, false},
		{[]string{"--mem-merge=true"}, false},
		{[]string{"--mem-merge=false"}, true},
	} {
		var o runOptions
		f := pflag.NewFlagSet("run", pflag.ContinueOnError)
		addRunFlags(f, &o)
		if err := f.Parse(append([]string{"--kernel", kernel}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		s, err := buildSpec(&o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.cfg.NoMemMerge != tc.noMerge {
			t.Errorf("%v: NoMemMerge %v, want %v", tc.args, s.cfg.NoMemMerge, tc.noMerge)
		}
	}
}
