// Command expecttime runs a program (a popek or QEMU guest) several times
// under an expect-style script and prints how long each step took, for
// the bench scripts:
//
//	expecttime -label popek -runs 5 \
//	    -do 'wait:user=popek-tinyinit: hello' -do exit -- popek run ...
//
// Output, one fact per line, for awk:
//
//	LAP label run name since_start since_send   (seconds)
//	CPU label run name percent                  (of one host core)
//	VALUE label run name value
//	MEDIAN label name since_start since_send    (laps)
//	MEDIAN label name value                     (CPU and numeric values)
//
// With -log FILE each run's output is appended to FILE; -before CMD runs a
// shell command before each run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/popek-vm/popek/bench"
)

type stepList []string

func (s *stepList) String() string     { return strings.Join(*s, " ") }
func (s *stepList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var steps stepList
	label := flag.String("label", "run", "name of this program in the output")
	runs := flag.Int("runs", 1, "repetitions")
	timeout := flag.Duration("timeout", 10*time.Minute, "limit for one run")
	logPath := flag.String("log", "", "append every run's output to this file")
	before := flag.String("before", "", "shell command run before each run (e.g. to make a fresh disk image)")
	flag.Var(&steps, "do", "a step: wait:NAME=TEXT, send:TEXT, idle:NAME=DURATION, exit, grep:NAME=REGEXP (repeatable, in order)")
	flag.Parse()
	if flag.NArg() == 0 || len(steps) == 0 || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: expecttime [-label L] [-runs N] -do STEP... -- command [args]")
		os.Exit(2)
	}
	var script bench.Script
	for _, s := range steps {
		st, err := bench.ParseStep(s)
		if err != nil {
			fatal(err)
		}
		script = append(script, st)
	}
	var results []*bench.Result
	for run := 1; run <= *runs; run++ {
		if *before != "" {
			if out, err := exec.Command("sh", "-c", *before).CombinedOutput(); err != nil {
				fatal(fmt.Errorf("-before: %v\n%s", err, out))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		res, err := bench.RunScript(ctx, exec.Command(flag.Arg(0), flag.Args()[1:]...), script)
		cancel()
		if *logPath != "" {
			appendLog(*logPath, fmt.Sprintf("==== %s run %d: %s\n", *label, run, strings.Join(flag.Args(), " ")), res)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "expecttime: %s run %d: %v\n", *label, run, err)
			if res != nil {
				fmt.Fprintf(os.Stderr, "output tail:\n%s\n", tail(res.Output, 3000))
			}
			os.Exit(1)
		}
		printRun(*label, run, res)
		results = append(results, res)
	}
	printMedians(*label, script, results)
}

func printRun(label string, run int, r *bench.Result) {
	for _, l := range r.Laps {
		fmt.Printf("LAP %s %d %s %.3f %.3f\n", label, run, l.Name, l.SinceStart.Seconds(), l.SinceSend.Seconds())
	}
	for _, name := range sortedKeys(r.CPU) {
		fmt.Printf("CPU %s %d %s %.2f\n", label, run, name, r.CPU[name])
	}
	for _, name := range sortedKeys(r.Values) {
		fmt.Printf("VALUE %s %d %s %s\n", label, run, name, r.Values[name])
	}
}

func printMedians(label string, script bench.Script, results []*bench.Result) {
	for _, st := range script {
		var a, b []float64
		switch st.Kind {
		case bench.Wait, bench.Exit:
			for _, r := range results {
				if l, ok := r.Lap(st.Name); ok {
					a, b = append(a, l.SinceStart.Seconds()), append(b, l.SinceSend.Seconds())
				}
			}
			fmt.Printf("MEDIAN %s %s %.3f %.3f\n", label, st.Name, bench.Median(a), bench.Median(b))
		case bench.Idle:
			for _, r := range results {
				a = append(a, r.CPU[st.Name])
			}
			fmt.Printf("MEDIAN %s %s %.2f\n", label, st.Name, bench.Median(a))
		case bench.Grep:
			for _, r := range results {
				if v, err := strconv.ParseFloat(r.Values[st.Name], 64); err == nil {
					a = append(a, v)
				}
			}
			if len(a) == len(results) {
				fmt.Printf("MEDIAN %s %s %g\n", label, st.Name, bench.Median(a))
			}
		}
	}
}

func appendLog(path, header string, r *bench.Result) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fatal(err)
	}
	defer f.Close()
	out := ""
	if r != nil {
		out = r.Output
	}
	fmt.Fprintf(f, "%s%s\n", header, out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "expecttime:", err)
	os.Exit(2)
}
