// Command popek runs a 64-bit RISC-V virtual machine (QEMU "virt" board)
// entirely in software.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries a process exit code out of a command. A nil err means
// the code is the guest's verdict, not a failure to report.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

// runMain is main without the process: tests call it directly.
func runMain(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "popek: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "popek: %v\n", err)
	return 1
}

func newRootCommand(stdin *os.File, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "popek",
		Short: "popek runs 64-bit RISC-V guests (Linux, OpenSBI, xv6) on any host",
		// Errors are printed once, as one line, by runMain.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(append([]*cobra.Command{newRunCommand(stdin, stdout, stderr), newVersionCommand(stdout)}, newDaemonCommands(stdin, stdout, stderr)...)...)
	root.AddCommand(newSnapshotCommand(stdout))
	root.AddCommand(newMigrateCommand(stdout))
	return root
}
