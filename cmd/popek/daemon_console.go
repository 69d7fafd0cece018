package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/coder/websocket"
	"github.com/popek-vm/popek/api"
	"github.com/popek-vm/popek/vmm"
	"github.com/spf13/cobra"
)

// consoleHelp is printed for Ctrl-A H while attached. Raw mode needs CRs.
const consoleHelp = "\r\nC-a h    print this help\r\nC-a x    detach (the VM keeps running)\r\nC-a C-a  send C-a to the guest\r\n"

func newConsoleCommand(stdin *os.File, stdout, stderr io.Writer) *cobra.Command {
	var o clientOptions
	var scrollback bool
	cmd := &cobra.Command{
		Use:   "console NAME",
		Short: "Attach to a VM's serial console (Ctrl-A X detaches)",
		Long: `Attach to a VM's serial console through the daemon. Keys go to the guest;
Ctrl-A X detaches and leaves the VM running, Ctrl-A H lists the commands.
Standard input may be a pipe: its bytes are typed (Ctrl-A commands apply
too) and, at its end, popek stays attached until the VM stops or it is
interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			ctx, stop := signalContext(ctx)
			defer stop()
			return attachConsole(ctx, c, args[0], scrollback, stdin, stdout, stderr)
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&scrollback, "scrollback", true, "first replay the last 64 KiB of output")
	return cmd
}

// attachConsole pumps the terminal to the VM's console WebSocket and back
// until detach, the VM stopping, or ctx ending.
func attachConsole(ctx context.Context, c *api.Client, name string, scrollback bool, stdin *os.File, stdout, stderr io.Writer) error {
	conn, err := c.Console(ctx, name, scrollback)
	if err != nil {
		return clientError(err)
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	restore := func() {}
	if stdin != nil {
		var tty bool
		restore, tty = rawTerminal(stdin)
		if tty {
			fmt.Fprintf(stderr, "popek: attached to %s (Ctrl-A X detaches, Ctrl-A H helps)\r\n", name)
		}
		go func() {
			defer func() { recover() }() // a broken terminal must not kill the client mid-restore
			sendInput(ctx, conn, stdin, stderr, cancel)
		}()
	}
	defer restore()

	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				restore()
				fmt.Fprintf(stderr, "\r\npopek: detached from %s\r\n", name)
				conn.Close(websocket.StatusNormalClosure, "detached")
				return nil
			}
			return &exitError{code: 1, err: fmt.Errorf("console of %s: %v", name, err)}
		}
		if typ == websocket.MessageBinary {
			if _, err := stdout.Write(data); err != nil {
				return nil
			}
			continue
		}
		var n api.ConsoleNotice
		if json.Unmarshal(data, &n) != nil {
			continue
		}
		if n.State == vmm.StateStopped || n.State == vmm.StateError {
			restore()
			msg := ""
			if n.Message != "" {
				msg = ": " + n.Message
			}
			fmt.Fprintf(stderr, "\r\npopek: %s %s%s\r\n", name, n.State, msg)
			return nil
		}
	}
}

// sendInput types stdin on the console, honouring Ctrl-A commands.
func sendInput(ctx context.Context, conn *websocket.Conn, in io.Reader, out io.Writer, detach func()) {
	var filter escapeFilter
	buf := make([]byte, 4096)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			r := filter.feed(buf[:n])
			if len(r.forward) > 0 {
				if conn.Write(ctx, websocket.MessageBinary, r.forward) != nil {
					return
				}
			}
			if r.help {
				io.WriteString(out, consoleHelp)
			}
			if r.quit {
				detach()
				return
			}
		}
		if err != nil {
			return // EOF: stay attached (see the command's help)
		}
	}
}
