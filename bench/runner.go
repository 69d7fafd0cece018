package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/popek-vm/popek/smptest"
)

// Lap is when a Wait or Exit step completed.
type Lap struct {
	Name       string
	SinceStart time.Duration // from starting the program
	SinceSend  time.Duration // from the latest Send (SinceStart if none)
}

// Result is what one run of a Script measured.
type Result struct {
	Laps   []Lap
	CPU    map[string]float64 // Idle steps: percent of one host core
	Values map[string]string  // Grep steps
	Output string
}

// Lap returns the lap called name.
func (r *Result) Lap(name string) (Lap, bool) {
	for _, l := range r.Laps {
		if l.Name == name {
			return l, true
		}
	}
	return Lap{}, false
}

// RunScript starts cmd with its stdin and output connected to the script
// and runs the steps. A program still running after the last step is
// killed. ctx bounds the whole run.
func RunScript(ctx context.Context, cmd *exec.Cmd, script Script) (*Result, error) {
	con := smptest.NewConsole()
	cmd.Stdout, cmd.Stderr = con, con
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		con.Close()
		close(p.done)
	}()
	res := &Result{CPU: map[string]float64{}, Values: map[string]string{}}
	err = runSteps(ctx, script, res, con, stdin, p, start)
	select {
	case <-p.done:
	default:
		cmd.Process.Kill()
		<-p.done
	}
	res.Output = con.String()
	return res, err
}

// process is a started program; err is valid once done is closed.
type process struct {
	pid  int
	done chan struct{}
	err  error
}

func runSteps(ctx context.Context, script Script, res *Result, con *smptest.Console, stdin io.Writer, p *process, start time.Time) error {
	sent, pos := start, 0
	lap := func(name string) {
		now := time.Now()
		res.Laps = append(res.Laps, Lap{Name: name, SinceStart: now.Sub(start), SinceSend: now.Sub(sent)})
	}
	for _, st := range script {
		switch st.Kind {
		case Wait:
			_, next, err := con.WaitFor(ctx, st.Text, pos)
			if err != nil {
				return fmt.Errorf("step %s: %v", st.Name, err)
			}
			lap(st.Name)
			pos = next
		case Send:
			sent = time.Now()
			if _, err := io.WriteString(stdin, st.Text+"\n"); err != nil {
				return fmt.Errorf("sending %q: %v", st.Text, err)
			}
		case Idle:
			c0, err := ProcessCPU(p.pid)
			if err != nil {
				return err
			}
			w0 := time.Now()
			select {
			case <-time.After(st.Duration):
			case <-ctx.Done():
				return ctx.Err()
			}
			c1, err := ProcessCPU(p.pid)
			if err != nil {
				return err
			}
			res.CPU[st.Name] = 100 * (c1 - c0).Seconds() / time.Since(w0).Seconds()
		case Exit:
			select {
			case <-p.done:
				lap(st.Name)
				if p.err != nil {
					return fmt.Errorf("program exited: %v", p.err)
				}
			case <-ctx.Done():
				return fmt.Errorf("waiting for exit: %v", ctx.Err())
			}
		case Grep:
			m := st.Pattern.FindStringSubmatch(con.String())
			if m == nil {
				return fmt.Errorf("step %s: no match for %s", st.Name, st.Pattern)
			}
			res.Values[st.Name] = m[1]
		}
	}
	return nil
}

// ProcessCPU is a process's user+system CPU time from /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces: state is field 3, utime 14, stime 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	// USER_HZ is 100 on every Linux architecture.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Median returns the middle value (the mean of the two middle ones for an
// even count); 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
