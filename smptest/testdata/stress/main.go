// Command stress is the guest half of popek's SMP tests and benchmarks. It
// is cross-built for linux/riscv64 at test time and placed in the guest as
// /stress.
//
//	stress run  [flags]   rounds of threads, processes, pipes and shared
//	                      memory until -seconds pass; one ROUND line each
//	stress hash [flags]   pure compute: -workers goroutines hash -mib each
//	stress stage -add N   internal: one pipeline stage (stdin+N -> stdout)
//	stress digest         internal: prints the SHA-256 of stdin
//
// Every result line carries digests the host recomputes on its own, so a
// guest that silently computes wrong answers fails as surely as one that
// hangs. Failures print "STRESS FAIL: ..." and exit 1.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: stress run|hash|stage|digest [flags]")
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = runCommand(args)
	case "hash":
		err = hashCommand(args)
	case "stage":
		err = stageCommand(args)
	case "digest":
		err = digestCommand()
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Printf("STRESS FAIL: %s\n", msg)
	os.Exit(1)
}
