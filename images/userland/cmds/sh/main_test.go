package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/interp"
)

// ttyReader hands out one line per Read, the way a terminal in canonical
// mode does, so the shell sees input exactly as typed on the console.
type ttyReader struct{ lines []string }

func (t *ttyReader) Read(p []byte) (int, error) {
	if len(t.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, t.lines[0])
	t.lines[0] = t.lines[0][n:]
	if t.lines[0] == "" {
		t.lines = t.lines[1:]
	}
	return n, nil
}

func typed(input string) io.Reader {
	return &ttyReader{lines: strings.SplitAfter(input, "\n")}
}

func TestInteractive(t *testing.T) {
	tests := []struct {
		name, input, stdout, stderrHas string
		status                         int // -1: no error
	}{
		{"prompt before and after a command", "echo hi\n", "popek# hi\npopek# ", "", -1},
		{"empty line prompts again", "\n", "popek# popek# ", "", -1},
		{"continuation prompt", "if true; then\necho a\nfi\n", "popek# > > a\npopek# ", "", -1},
		{"failure only sets status", "false\necho $?\n", "popek# popek# 1\npopek# ", "", -1},
		{"unknown command", "nosuchcommand-xyz\n", "popek# popek# ", "nosuchcommand-xyz", 127},
		{"syntax error recovers", "echo )\necho ok\n", "popek# popek# ok\npopek# ", "sh:", -1},
		{"exit stops reading", "exit 3\necho no\n", "popek# ", "", 3},
		{"cd is a builtin", "cd /\npwd\n", "popek# popek# /\npopek# ", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// Commands get no stdin here: with a non-file stdin the
			// interpreter would read the typed input concurrently.
			runner, err := newRunner(nil, &stdout, &stderr, true)
			if err != nil {
				t.Fatal(err)
			}
			err = runInteractive(runner, typed(tt.input), &stdout, &stderr)
			if got := stdout.String(); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderrHas)
			}
			checkStatus(t, err, tt.status)
		})
	}
}

func TestNonInteractive(t *testing.T) {
	tests := []struct {
		name, stdin, command, stdout string
		status                       int
	}{
		{"-c runs the string without prompts", "", "echo $((1+2))", "3\n", -1},
		{"-c exit status", "", "exit 4", "", 4},
		{"script on stdin has no prompts", "echo a\necho b\n", "", "a\nb\n", -1},
		// mvdan.cc/sh before v3.12 globbed an escaped lone \* (breaking `expr 6 \* 7`).
		{"escaped star is literal", "", "cd / && echo 6 \\* 7", "6 * 7\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(strings.NewReader(tt.stdin), &stdout, &stderr, tt.command, false, nil)
			if got := stdout.String(); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			checkStatus(t, err, tt.status)
		})
	}
}

func checkStatus(t *testing.T, err error, want int) {
	t.Helper()
	if want < 0 {
		if err != nil {
			t.Errorf("err = %v, want nil", err)
		}
		return
	}
	status, ok := interp.IsExitStatus(err)
	if !ok || int(status) != want {
		t.Errorf("err = %v, want exit status %d", err, want)
	}
}
