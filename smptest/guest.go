package smptest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/popek-vm/popek/board"
	"github.com/popek-vm/popek/images"
)

// GuestMemory is the RAM LinuxConfig gives a guest, as `popek run`'s default.
const GuestMemory = 256 << 20

// LinuxConfig is the embedded Linux booted directly (popek as the SBI) on
// harts harts with initrd (the embedded u-root initramfs when nil).
func LinuxConfig(harts int, initrd []byte) board.Config {
	if initrd == nil {
		initrd = images.Initramfs()
	}
	return board.Config{
		Harts: harts, MemSize: GuestMemory, Boot: board.BootDirect,
		Kernel: images.Kernel(), Initrd: initrd, Cmdline: images.DefaultCmdline,
	}
}

// Guest is a machine running on its own goroutine with its console
// recorded.
type Guest struct {
	Machine *board.Machine
	Console *Console

	cancel context.CancelFunc
	done   chan struct{}
	status board.ExitStatus
	err    error
}

// Start builds the machine described by cfg and runs it. Console output
// goes to the Guest's Console and also to cfg.Console when set.
func Start(cfg board.Config) (*Guest, error) {
	con := NewConsole()
	if cfg.Console != nil {
		cfg.Console = io.MultiWriter(con, cfg.Console)
	} else {
		cfg.Console = con
	}
	m, err := board.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Guest{Machine: m, Console: con, cancel: cancel, done: make(chan struct{})}
	go func() {
		g.status, g.err = m.Run(ctx)
		con.Close()
		close(g.done)
	}()
	return g, nil
}

// Done is closed when the machine has stopped.
func (g *Guest) Done() <-chan struct{} { return g.done }

// Wait waits for the machine to stop on its own and returns how it ended.
func (g *Guest) Wait(ctx context.Context) (board.ExitStatus, error) {
	select {
	case <-g.done:
		return g.status, g.err
	case <-ctx.Done():
		return board.ExitStatus{Kind: board.ExitCanceled}, fmt.Errorf("waiting for the guest to stop: %v", ctx.Err())
	}
}

// Close stops the machine if it still runs and releases it. It returns how
// the run ended. Idempotent.
func (g *Guest) Close() (board.ExitStatus, error) {
	g.cancel()
	<-g.done
	if err := g.Machine.Close(); err != nil && g.err == nil {
		return g.status, err
	}
	return g.status, g.err
}

// Type sends s to the serial console as keystrokes.
func (g *Guest) Type(s string) error {
	_, err := g.Machine.Console().Write([]byte(s))
	return err
}

// WaitPrompt waits for the shell prompt at or after offset from and returns
// the offset past it.
func (g *Guest) WaitPrompt(ctx context.Context, from int) (int, error) {
	_, next, err := g.Console.WaitFor(ctx, images.Prompt, from)
	return next, err
}

// Shell types cmd at the prompt (which must be showing) and waits for the
// next prompt. It returns what the command printed, without the echoed
// command line.
func (g *Guest) Shell(ctx context.Context, cmd string) (string, error) {
	from := g.Console.Len()
	if err := g.Type(cmd + "\n"); err != nil {
		return "", err
	}
	out, _, err := g.Console.WaitFor(ctx, images.Prompt, from)
	if _, rest, ok := strings.Cut(out, "\n"); ok {
		out = rest
	}
	out = strings.ReplaceAll(out, "\r\n", "\n")
	if err != nil {
		return out, fmt.Errorf("%s: %v", cmd, err)
	}
	return out, nil
}
