// Command sh is /bin/sh and the interactive shell of popek's default guest:
// the POSIX shell interpreter that u-root's gosh uses (mvdan.cc/sh), with a
// fixed, recognisable prompt that tests and people can wait for.
//
//	sh              interactive when stdin is a terminal, else a script on stdin
//	sh -c 'cmd'     run one command string
//	sh script [arg] run a script file
//
// It is a busybox command of its own (rather than a /bin/sh link to gosh)
// because the busybox picks the command by argv[0], and "sh" run by name
// must resolve.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Prompt is printed whenever the shell is ready for a command; images/README.md
// documents it for the integration tests that wait for it.
const (
	Prompt         = "popek# "
	ContinuePrompt = "> "
)

func main() {
	command := flag.String("c", "", "run this command string and exit")
	flag.Parse()
	interactive := *command == "" && flag.NArg() == 0 && term.IsTerminal(int(os.Stdin.Fd()))
	if interactive {
		// Ctrl-C must stop the foreground command, not the shell. Notify
		// (unlike Ignore) leaves children with the default disposition.
		signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	}
	err := run(os.Stdin, os.Stdout, os.Stderr, *command, interactive, flag.Args())
	if status, ok := interp.IsExitStatus(err); ok {
		os.Exit(int(status))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sh: %v\n", err)
		os.Exit(2)
	}
}

func run(stdin io.Reader, stdout, stderr io.Writer, command string, interactive bool, args []string) error {
	runner, err := newRunner(stdin, stdout, stderr, interactive)
	if err != nil {
		return err
	}
	switch {
	case command != "":
		return runScript(runner, strings.NewReader(command), "-c")
	case len(args) > 0:
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		if err := interp.Params(append([]string{"--"}, args[1:]...)...)(runner); err != nil {
			return err
		}
		return runScript(runner, f, args[0])
	case interactive:
		return runInteractive(runner, stdin, stdout, stderr)
	default:
		return runScript(runner, stdin, "")
	}
}

func newRunner(stdin io.Reader, stdout, stderr io.Writer, interactive bool) (*interp.Runner, error) {
	return interp.New(interp.StdIO(stdin, stdout, stderr), interp.Interactive(interactive))
}

func runScript(runner *interp.Runner, r io.Reader, name string) error {
	prog, err := syntax.NewParser().Parse(r, name)
	if err != nil {
		return err
	}
	return runner.Run(context.Background(), prog)
}

// runInteractive reads statements as they are typed, printing Prompt before
// each complete command and ContinuePrompt inside an unfinished one. A failing
// command only sets $?; a syntax error is reported and the shell goes on. It
// returns at end of input or on `exit`, with the exit status of the last
// command.
func runInteractive(runner *interp.Runner, input io.Reader, stdout, stderr io.Writer) error {
	parser := syntax.NewParser()
	var last error
	fmt.Fprint(stdout, Prompt)
	for {
		err := parser.Interactive(input, func(stmts []*syntax.Stmt) bool {
			if parser.Incomplete() {
				fmt.Fprint(stdout, ContinuePrompt)
				return true
			}
			for _, stmt := range stmts {
				last = runner.Run(context.Background(), stmt)
				if runner.Exited() {
					return false
				}
				if _, isStatus := interp.IsExitStatus(last); !isStatus && last != nil {
					fmt.Fprintf(stderr, "sh: %v\n", last)
				}
			}
			fmt.Fprint(stdout, Prompt)
			return true
		})
		if isSyntaxError(err) {
			// The parser cannot resume after a syntax error; start afresh.
			fmt.Fprintf(stderr, "sh: %v\n", err)
			parser = syntax.NewParser()
			fmt.Fprint(stdout, Prompt)
			continue
		}
		if err != nil {
			return err
		}
		return last
	}
}

// isSyntaxError tells mistakes in what was typed from failures to read it.
func isSyntaxError(err error) bool {
	var parse syntax.ParseError
	var lang syntax.LangError
	var quote syntax.QuoteError
	return errors.As(err, &parse) || errors.As(err, &lang) || errors.As(err, &quote)
}
