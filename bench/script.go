package bench

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// StepKind is what one step of a Script does.
type StepKind int

const (
	// Wait blocks until Text appears in the output after the previous
	// match and records a lap.
	Wait StepKind = iota
	// Send writes Text and a newline to the program's stdin and starts
	// the clock that laps' SinceSend measure.
	Send
	// Idle sleeps for Duration and records the program's CPU time over it.
	Idle
	// Exit waits for the program to exit and records a lap.
	Exit
	// Grep records the first submatch of Pattern in all output so far.
	Grep
)

// Step is one instruction of a Script. Name labels the step's result.
type Step struct {
	Kind     StepKind
	Name     string
	Text     string
	Duration time.Duration
	Pattern  *regexp.Regexp
}

// Script is an expect-style run of a guest: steps in order.
type Script []Step

// ParseStep reads a step in the command-line syntax the bench scripts use:
//
//	wait:NAME=TEXT     wait for TEXT, lap NAME
//	send:TEXT          type TEXT and a newline
//	idle:NAME=DURATION sleep, measuring CPU use as NAME
//	exit               wait for the program to exit, lap "exit"
//	grep:NAME=REGEXP   value NAME is REGEXP's first group in the output
//
// TEXT may use \n, \t and \\ escapes.
func ParseStep(s string) (Step, error) {
	kind, arg, _ := strings.Cut(s, ":")
	named := func() (string, string, error) {
		name, val, ok := strings.Cut(arg, "=")
		if !ok || name == "" || val == "" {
			return "", "", fmt.Errorf("step %q: want %s:NAME=VALUE", s, kind)
		}
		return name, val, nil
	}
	switch kind {
	case "wait":
		name, text, err := named()
		if err != nil {
			return Step{}, err
		}
		return Step{Kind: Wait, Name: name, Text: unescape(text)}, nil
	case "send":
		if arg == "" {
			return Step{}, fmt.Errorf("step %q: nothing to send", s)
		}
		return Step{Kind: Send, Text: unescape(arg)}, nil
	case "idle":
		name, val, err := named()
		if err != nil {
			return Step{}, err
		}
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return Step{}, fmt.Errorf("step %q: bad duration %q", s, val)
		}
		return Step{Kind: Idle, Name: name, Duration: d}, nil
	case "exit":
		if arg != "" {
			return Step{}, fmt.Errorf("step %q: exit takes no argument", s)
		}
		return Step{Kind: Exit, Name: "exit"}, nil
	case "grep":
		name, expr, err := named()
		if err != nil {
			return Step{}, err
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return Step{}, fmt.Errorf("step %q: %v", s, err)
		}
		if re.NumSubexp() < 1 {
			return Step{}, fmt.Errorf("step %q: the pattern needs a (group)", s)
		}
		return Step{Kind: Grep, Name: name, Pattern: re}, nil
	}
	return Step{}, fmt.Errorf("step %q: unknown kind %q (want wait, send, idle, exit, grep)", s, kind)
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
