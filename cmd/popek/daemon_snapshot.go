package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/popek-vm/popek/api"
	"github.com/popek-vm/popek/vmm"
	"github.com/spf13/cobra"
)

// newDaemonSnapshotCommands are the "popek snapshot" subcommands that
// manage the snapshots of the daemon's VMs.
func newDaemonSnapshotCommands(stdout io.Writer) []*cobra.Command {
	return []*cobra.Command{
		newSnapshotCreateCommand(stdout),
		newSnapshotListCommand(stdout),
		newSnapshotRemoveCommand(stdout),
		newSnapshotRevertCommand(stdout),
	}
}

func newSnapshotCreateCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var req vmm.SnapshotRequest
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create NAME SNAP",
		Short: "Snapshot a running or paused VM of the daemon",
		Long: `Snapshot the daemon's VM NAME as SNAP (in the daemon's state directory).
The guest pauses only while its state, memory and disks are captured, then
runs on; a paused VM stays paused. --incremental stores only the pages
changed since the VM's last snapshot taken or reverted to since it started
(a full snapshot when there is none).`,
		Args: cobra.ExactArgs(2),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			req.Name = args[1]
			in, err := c.CreateSnapshot(ctx, args[0], req)
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, in)
			}
			kind := "full"
			if in.Incremental {
				kind = "incremental on " + in.Parent
			}
			fmt.Fprintf(stdout, "snapshot %s of %s: %s, guest paused %v, %s of memory, %s on disk\n", in.Name, in.VM, kind,
				(time.Duration(in.PausedSeconds * float64(time.Second))).Round(100*time.Microsecond), humanBytes(in.MemoryBytes), humanBytes(uint64(in.SizeBytes)))
			return nil
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&req.Incremental, "incremental", false, "store only pages changed since the VM's last snapshot")
	cmd.Flags().BoolVar(&req.Compress, "compress", false, "compress memory (smaller; reverting to it is slower)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newSnapshotListCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls NAME",
		Aliases: []string{"list"},
		Short:   "List a daemon VM's snapshots, oldest first",
		Args:    cobra.ExactArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			list, err := c.ListSnapshots(ctx, args[0])
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, list)
			}
			tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCREATED\tKIND\tPARENT\tMEMORY\tSIZE\tTEMPLATE")
			for _, s := range list {
				kind := "full"
				if s.Incremental {
					kind = "incremental"
				}
				if s.Compressed {
					kind += ",compressed"
				}
				name := s.Name
				if s.Current {
					name += " *"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%v\n", name, s.Created.Local().Format(time.RFC3339), kind,
					orDefault(s.Parent, "-"), humanBytes(s.MemoryBytes), humanBytes(uint64(s.SizeBytes)), s.Template)
			}
			return tw.Flush()
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newSnapshotRemoveCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:     "rm NAME SNAP...",
		Aliases: []string{"delete"},
		Short:   "Delete snapshots of a daemon VM (incremental children are made full first)",
		Args:    cobra.MinimumNArgs(2),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			for _, snap := range args[1:] {
				if err := c.DeleteSnapshot(ctx, args[0], snap); err != nil {
					return clientError(err)
				}
				fmt.Fprintf(stdout, "deleted snapshot %s of %s\n", snap, args[0])
			}
			return nil
		}),
	}
	o.register(cmd)
	return cmd
}

func newSnapshotRevertCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "revert NAME SNAP",
		Short: "Put a daemon VM back to a snapshot: memory, devices and disks",
		Long: `Replace the VM's machine by the one in the snapshot: the guest continues
from exactly that instant, with the snapshot's disks written back into the
VM's drive files. A running or stopped VM ends up running, a paused one
paused. A snapshot that is corrupt or does not fit the VM changes nothing.`,
		Args: cobra.ExactArgs(2),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			in, err := c.RevertSnapshot(ctx, args[0], args[1])
			if err != nil {
				return clientError(err)
			}
			fmt.Fprintf(stdout, "%s: reverted to %s, %s\n", in.Name, args[1], in.State)
			return nil
		}),
	}
	o.register(cmd)
	return cmd
}
