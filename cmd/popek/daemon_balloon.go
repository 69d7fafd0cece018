package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/popek-vm/popek/api"
	"github.com/popek-vm/popek/vmm"
	"github.com/spf13/cobra"
)

// newBalloonCommand shows or sets a VM's balloon, as QEMU's monitor
// "balloon"/"info balloon" and Firecracker's balloon API do; the size here
// is the balloon's (memory taken from the guest), as in Firecracker.
func newBalloonCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "balloon NAME [SIZE]",
		Short: "Show a running VM's memory balloon, or set its size (memory the guest gives back to the host)",
		Long: `With only NAME, print the balloon's target and actual size and the guest's
memory statistics. With SIZE (e.g. 64M, 1G, 0; a bare number means MiB), ask
the guest to hand that much memory back: its driver inflates or deflates the
balloon toward SIZE and the host frees what it gives up. The VM's config
needs a balloon (balloon: {} or balloon: {size: 32M}).`,
		Args: cobra.RangeArgs(1, 2),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			var in vmm.BalloonInfo
			var err error
			if len(args) == 2 {
				in, err = c.SetBalloon(ctx, args[0], vmm.Size(args[1]))
			} else {
				in, err = c.Balloon(ctx, args[0])
			}
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, in)
			}
			printBalloon(stdout, &in)
			return nil
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// byteStats are the balloon statistics that are sizes, not counts.
var byteStats = map[string]bool{"free_memory": true, "total_memory": true, "available_memory": true, "disk_caches": true}

func printBalloon(w io.Writer, in *vmm.BalloonInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "target\t%s\n", humanBytes(in.TargetBytes))
	fmt.Fprintf(tw, "actual\t%s\n", humanBytes(in.ActualBytes))
	fmt.Fprintf(tw, "guest memory\t%s\n", humanBytes(in.GuestMemoryBytes))
	names := make([]string, 0, len(in.Stats))
	for k := range in.Stats {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if byteStats[k] {
			fmt.Fprintf(tw, "guest %s\t%s\n", k, humanBytes(in.Stats[k]))
		} else {
			fmt.Fprintf(tw, "guest %s\t%d\n", k, in.Stats[k])
		}
	}
	if len(in.Stats) > 0 && !in.StatsFresh {
		fmt.Fprintf(tw, "(statistics are not fresh: the guest did not answer in time)\n")
	}
	tw.Flush()
}
