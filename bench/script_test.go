package bench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseStep(t *testing.T) {
	tests := []struct {
		in      string
		want    Step
		wantErr string
	}{
		{in: "wait:user=hello world", want: Step{Kind: Wait, Name: "user", Text: "hello world"}},
		{in: `wait:p=popek# `, want: Step{Kind: Wait, Name: "p", Text: "popek# "}},
		{in: `wait:x=a=b`, want: Step{Kind: Wait, Name: "x", Text: "a=b"}},
		{in: `send:echo a\tb\\n`, want: Step{Kind: Send, Text: "echo a\tb\\n"}},
		{in: `send:line\n`, want: Step{Kind: Send, Text: "line\n"}},
		{in: "idle:cpu=10s", want: Step{Kind: Idle, Name: "cpu", Duration: 10 * time.Second}},
		{in: "exit", want: Step{Kind: Exit, Name: "exit"}},
		{in: "grep:rate=([0-9.]+) MB/s", want: Step{Kind: Grep, Name: "rate"}},
		{in: "wait:noname", wantErr: "NAME=VALUE"},
		{in: "wait:=text", wantErr: "NAME=VALUE"},
		{in: "send:", wantErr: "nothing to send"},
		{in: "idle:cpu=soon", wantErr: "bad duration"},
		{in: "idle:cpu=-1s", wantErr: "bad duration"},
		{in: "exit:now", wantErr: "no argument"},
		{in: "grep:r=[", wantErr: "missing closing"},
		{in: "grep:r=abc", wantErr: "(group)"},
		{in: "sleep:1s", wantErr: "unknown kind"},
	}
	for _, tc := range tests {
		got, err := ParseStep(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseStep(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStep(%q): %v", tc.in, err)
			continue
		}
		if tc.want.Kind == Grep {
			if got.Kind != Grep || got.Name != tc.want.Name || got.Pattern == nil {
				t.Errorf("ParseStep(%q) = %+v", tc.in, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseStep(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1, 100}, 1},
	}
	for _, tc := range tests {
		orig := append([]float64(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range orig {
			if orig[i] != tc.in[i] {
				t.Errorf("Median reordered its argument: %v", tc.in)
			}
		}
	}
}

func mustScript(t *testing.T, steps ...string) Script {
	t.Helper()
	var s Script
	for _, x := range steps {
		st, err := ParseStep(x)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, st)
	}
	return s
}

// TestRunScript drives a shell standing in for a guest: it prints a
// prompt, reads a command, answers and exits.
func TestRunScript(t *testing.T) {
	guest := `echo booting; echo 'ready> '; read cmd; echo "got $cmd"; echo "rate 12.5 MB/s"; exit 0`
	script := mustScript(t, "wait:prompt=ready> ", "send:ping", "wait:answer=got ping", "exit", "grep:rate=rate ([0-9.]+) MB/s")
	res, err := RunScript(context.Background(), exec.Command("sh", "-c", guest), script)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Output)
	}
	var names []string
	for _, l := range res.Laps {
		names = append(names, l.Name)
		if l.SinceSend > l.SinceStart || l.SinceStart <= 0 {
			t.Errorf("lap %+v: times out of order", l)
		}
	}
	if strings.Join(names, ",") != "prompt,answer,exit" {
		t.Errorf("laps %q", names)
	}
	p, _ := res.Lap("prompt")
	a, _ := res.Lap("answer")
	if a.SinceStart < p.SinceStart || p.SinceSend != p.SinceStart {
		t.Errorf("prompt %+v, answer %+v", p, a)
	}
	if res.Values["rate"] != "12.5" {
		t.Errorf("grep rate = %q", res.Values["rate"])
	}
	if !strings.Contains(res.Output, "booting\n") {
		t.Errorf("output %q", res.Output)
	}
}

func TestRunScriptFailures(t *testing.T) {
	tests := []struct {
		name, guest string
		steps       []string
		want        string
	}{
		{"exits before the text", "echo nope", []string{"wait:x=never"}, "console ended"},
		{"exit status", "exit 3", []string{"exit"}, "exit status 3"},
		{"no grep match", "echo abc", []string{"exit", "grep:v=(x+)"}, "no match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RunScript(context.Background(), exec.Command("sh", "-c", tc.guest), mustScript(t, tc.steps...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	// A program that never prints the text is killed when ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := RunScript(ctx, exec.Command("sleep", "600"), mustScript(t, "wait:x=never"))
	if err == nil || !strings.Contains(err.Error(), "context canceled") || res == nil {
		t.Errorf("canceled run: %v", err)
	}
}

func TestProcessCPU(t *testing.T) {
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the counter moves (USER_HZ granularity is 10 ms);
	// a counter that never moves runs the bounded loop out.
	x := 0
	for round := 0; ; round++ {
		if round == 5000 {
			t.Fatalf("CPU time stuck at %v", before)
		}
		for i := 0; i < 1e7; i++ {
			x += i
		}
		after, err := ProcessCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after < before {
			t.Fatalf("CPU time went back: %v -> %v", before, after)
		}
		if after > before {
			break
		}
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("ProcessCPU(-1) succeeded")
	}
	_ = x
}
