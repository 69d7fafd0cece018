// Command stressinitrd writes the embedded initramfs with the SMP stress
// program added as /stress (see smptest), for bench/smp.sh, and prints the
// digest `/stress hash -workers W -mib M -seed S` must report.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/popek-vm/popek/smptest"
)

func main() {
	out := flag.String("o", "", "output file (gzip'd cpio)")
	workers := flag.Int("workers", 2, "hash workers the digest is for")
	mib := flag.Int("mib", 4, "MiB per worker the digest is for")
	seed := flag.Uint64("seed", 1, "seed the digest is for")
	flag.Parse()
	if *out == "" || *workers < 1 || *mib < 1 {
		fmt.Fprintln(os.Stderr, "usage: stressinitrd -o FILE [-workers W -mib M -seed S]")
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "stressinitrd:", err)
		os.Exit(1)
	}
	fmt.Println(smptest.ExpectedHash(*workers, *mib, *seed))
}

// write builds the stress program in a scratch directory and writes the
// initramfs to path.
func write(path string) error {
	dir, err := os.MkdirTemp("", "stressinitrd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := smptest.BuildStress(dir, "riscv64")
	if err != nil {
		return err
	}
	initrd, err := smptest.StressInitramfs(bin)
	if err != nil {
		return err
	}
	return os.WriteFile(path, initrd, 0o644)
}
