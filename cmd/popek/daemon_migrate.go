package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/popek-vm/popek/api"
	"github.com/spf13/cobra"
)

// newMigrateCommand is `popek migrate`: live migration of a daemon's VM
// to another daemon.
func newMigrateCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var to, toSocket, tokenFile string
	var compress, asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate NAME (--to HOST:PORT --token-file F | --to-socket PATH)",
		Short: "Move a running VM to another popek daemon with a short pause",
		Long: `Live-migrate the daemon's VM NAME to another popek daemon: its TCP API at
--to (with its bearer token in --token-file), or its Unix socket with
--to-socket (a daemon on the same host). Memory is copied while the guest
runs, then the guest pauses for the last dirty pages, its state and its
writable disks, and continues on the target under the same name, with the
same MACs and vsock CID. The VM is deleted here once it runs there; on any
failure it runs on here as if nothing happened.`,
		Args: cobra.ExactArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			req := api.MigrateRequest{Target: to, Socket: toSocket, Compress: compress}
			switch {
			case (to == "") == (toSocket == ""):
				return &exitError{code: 1, err: errors.New("give the target daemon as --to HOST:PORT (with --token-file) or --to-socket PATH")}
			case to != "" && tokenFile == "":
				return &exitError{code: 1, err: errors.New("--to needs --token-file: the target's TCP API requires its bearer token")}
			case to != "":
				tok, err := readToken(tokenFile)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				req.Token = tok
			}
			res, err := c.Migrate(ctx, args[0], req)
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, res)
			}
			ms := func(s float64) time.Duration {
				return time.Duration(s * float64(time.Second)).Round(100 * time.Microsecond)
			}
			fmt.Fprintf(stdout, "migrated %s to %s: %s there\n", res.VM, res.Target, res.State)
			fmt.Fprintf(stdout, "  pre-copy rounds %d, pages sent %d (%d while paused), %s sent (disks %s)\n",
				res.PrecopyRounds, res.PagesSent, res.FinalPages, humanBytes(res.BytesSent), humanBytes(res.DiskBytes))
			fmt.Fprintf(stdout, "  downtime %v, total %v\n", ms(res.DowntimeSeconds), ms(res.TotalSeconds))
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.socket, "socket", "", "the source daemon's Unix socket (default $POPEK_SOCKET, $XDG_RUNTIME_DIR/popek.sock or the default state directory's popek.sock)")
	f.StringVar(&o.connect, "connect", "", "talk to the source daemon over TCP at HOST:PORT instead (needs --connect-token-file)")
	f.StringVar(&o.tokenFile, "connect-token-file", "", "bearer token file for --connect")
	f.StringVar(&to, "to", "", "the target daemon's TCP API, HOST:PORT")
	f.StringVar(&tokenFile, "token-file", "", "file holding the target daemon's bearer token (for --to)")
	f.StringVar(&toSocket, "to-socket", "", "the target daemon's Unix socket instead (a daemon on the same host)")
	f.BoolVar(&compress, "compress", false, "send memory zstd-compressed (for slow links)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
