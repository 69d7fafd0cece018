package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/popek-vm/popek/api"
	"github.com/popek-vm/popek/vmm"
	"github.com/spf13/cobra"
)

// newTemplateCommand is "popek template": the daemon's templates, frozen
// guests that VMs are cloned from (popek create --template).
func newTemplateCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Manage the daemon's templates (frozen guests to clone VMs from)",
	}
	cmd.AddCommand(newTemplateCreateCommand(stdout), newTemplateListCommand(stdout), newTemplateRemoveCommand(stdout))
	return cmd
}

func newTemplateCreateCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var req vmm.TemplateRequest
	cmd := &cobra.Command{
		Use:   "create TNAME --vm NAME [--snapshot SNAP]",
		Short: "Make a template from a VM now, or from one of its snapshots",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.VM == "" {
				return &exitError{code: 1, err: fmt.Errorf("template create: --vm NAME is required")}
			}
			c, err := o.client()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			req.Name = args[0]
			in, err := c.CreateTemplate(cmd.Context(), req)
			if err != nil {
				return clientError(err)
			}
			from := in.SourceVM
			if in.SourceSnapshot != "" {
				from += " snapshot " + in.SourceSnapshot
			}
			fmt.Fprintf(stdout, "template %s from %s: %s of memory, %s on disk\n", in.Name, from, humanBytes(in.MemoryBytes), humanBytes(uint64(in.SizeBytes)))
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&req.VM, "vm", "", "the VM to make the template from (running or paused, unless --snapshot)")
	cmd.Flags().StringVar(&req.Snapshot, "snapshot", "", "copy this snapshot of the VM instead of snapshotting it now")
	return cmd
}

func newTemplateListCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the daemon's templates",
		Args:    cobra.NoArgs,
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			list, err := c.ListTemplates(ctx)
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, list)
			}
			tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCREATED\tFROM\tVCPUS\tMEMORY\tSIZE\tVMS")
			for _, t := range list {
				from := t.SourceVM
				if t.SourceSnapshot != "" {
					from += "/" + t.SourceSnapshot
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.Name, t.Created.Local().Format(time.RFC3339), from,
					t.VCPUs, t.Memory, humanBytes(uint64(t.SizeBytes)), orDefault(strings.Join(t.VMs, ","), "-"))
			}
			return tw.Flush()
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newTemplateRemoveCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:     "rm TNAME...",
		Aliases: []string{"delete"},
		Short:   "Delete templates no VM was created from",
		Args:    cobra.MinimumNArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			for _, name := range args {
				if err := c.DeleteTemplate(ctx, name); err != nil {
					return clientError(err)
				}
				fmt.Fprintf(stdout, "deleted template %s\n", name)
			}
			return nil
		}),
	}
	o.register(cmd)
	return cmd
}
