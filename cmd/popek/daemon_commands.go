package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/popek-vm/popek/api"
	"github.com/popek-vm/popek/vmm"
	"github.com/spf13/cobra"
)

// newDaemonCommands returns `popek serve` and the client commands that
// manage the daemon's VMs.
func newDaemonCommands(stdin *os.File, stdout, stderr io.Writer) []*cobra.Command {
	cmds := []*cobra.Command{
		newServeCommand(stderr),
		newCreateCommand(stdin, stdout),
		newListCommand(stdout),
		newInspectCommand(stdout),
		newRemoveCommand(stdout),
		newStatsCommand(stdout),
		newBalloonCommand(stdout),
		newEventsCommand(stdout),
		newConsoleCommand(stdin, stdout, stderr),
		newTemplateCommand(stdout),
	}
	for _, a := range []struct{ name, short string }{
		{"start", "Boot a stopped VM"},
		{"stop", "Power a VM off at once"},
		{"pause", "Freeze a running VM (guest time stops)"},
		{"resume", "Continue a paused VM"},
		{"reboot", "Hard-reset a VM"},
	} {
		cmds = append(cmds, newActionCommand(a.name, a.short, stdout))
	}
	return cmds
}

func newCreateCommand(stdin *os.File, stdout io.Writer) *cobra.Command {
	var o clientOptions
	var file, template string
	var start bool
	cmd := &cobra.Command{
		Use:   "create -f VM.yaml | --template TNAME NAME",
		Short: "Define a VM from a config document (YAML or JSON), or as a clone of a template",
		Long: `Define a VM in the daemon from a config document (see vmm/README.md).
Relative paths in the document are taken relative to its directory. -f -
reads the document from standard input (paths relative to the current
directory). --template TNAME NAME defines NAME as a clone of the template:
its first start resumes the template's guest in milliseconds.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if template != "" && file == "" {
				return cobra.ExactArgs(1)(cmd, args)
			}
			return cobra.NoArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg *vmm.Config
			switch {
			case template != "" && file == "":
				cfg = &vmm.Config{Name: args[0], Template: template}
			case file == "":
				return &exitError{code: 1, err: fmt.Errorf("create: -f FILE is required (or --template TNAME NAME)")}
			default:
				doc, dir, err := readDocument(file, stdin)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				if cfg, err = vmm.ParseConfig(doc); err != nil {
					return &exitError{code: 1, err: err}
				}
				cfg.ResolvePaths(dir)
				if template != "" {
					cfg.Template = template
				}
			}
			body, err := json.Marshal(cfg)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			c, err := o.client()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			ctx := cmd.Context()
			info, err := c.Create(ctx, body)
			if err != nil {
				return clientError(err)
			}
			fmt.Fprintf(stdout, "created %s\n", info.Name)
			if start {
				if _, err := c.Action(ctx, info.Name, "start"); err != nil {
					return clientError(err)
				}
				fmt.Fprintf(stdout, "started %s\n", info.Name)
			}
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "config document (- for standard input)")
	cmd.Flags().StringVar(&template, "template", "", "create the VM as a clone of this template")
	cmd.Flags().BoolVar(&start, "start", false, "start the VM once created")
	return cmd
}

// readDocument reads a config document and the directory its relative
// paths are relative to.
func readDocument(file string, stdin *os.File) ([]byte, string, error) {
	if file == "-" {
		if stdin == nil {
			return nil, "", fmt.Errorf("create -f -: no standard input")
		}
		b, err := io.ReadAll(stdin)
		wd, _ := os.Getwd()
		return b, wd, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", err
	}
	return b, filepath.Dir(abs), nil
}

func newListCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the daemon's VMs",
		Args:    cobra.NoArgs,
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			vms, err := c.List(ctx)
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, vms)
			}
			tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tVCPUS\tMEMORY\tKERNEL\tUPTIME")
			for _, v := range vms {
				kernel := v.Config.Kernel
				if kernel == "" {
					kernel = "(default guest)"
				}
				up := "-"
				if v.StartedAt != nil && (v.State == vmm.StateRunning || v.State == vmm.StatePaused) {
					up = time.Since(*v.StartedAt).Round(time.Second).String()
				}
				state := string(v.State)
				if v.Error != "" {
					state += ": " + firstLine(v.Error)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", v.Name, state, v.Config.VCPUs, v.Config.Memory, kernel, up)
			}
			return tw.Flush()
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newInspectCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "inspect NAME",
		Short: "Print a VM's definition and state as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			info, err := c.Get(ctx, args[0])
			if err != nil {
				return clientError(err)
			}
			return printJSON(stdout, info)
		}),
	}
	o.register(cmd)
	return cmd
}

func newActionCommand(action, short string, stdout io.Writer) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   action + " NAME...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			for _, name := range args {
				info, err := c.Action(ctx, name, action)
				if err != nil {
					return clientError(err)
				}
				fmt.Fprintf(stdout, "%s: %s\n", info.Name, info.State)
			}
			return nil
		}),
	}
	o.register(cmd)
	return cmd
}

func newRemoveCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"delete"},
		Short:   "Delete stopped VMs' definitions, with their snapshots",
		Args:    cobra.MinimumNArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			for _, name := range args {
				if err := c.Delete(ctx, name, force); err != nil {
					return clientError(err)
				}
				fmt.Fprintf(stdout, "deleted %s\n", name)
			}
			return nil
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "stop running VMs first")
	return cmd
}

func newStatsCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats NAME",
		Short: "Print a VM's statistics",
		Args:  cobra.ExactArgs(1),
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			st, err := c.Stats(ctx, args[0])
			if err != nil {
				return clientError(err)
			}
			if asJSON {
				return printJSON(stdout, st)
			}
			printStats(stdout, &st)
			return nil
		}),
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printStats renders VMStats for people.
func printStats(w io.Writer, st *vmm.VMStats) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("name", "%s", st.Name)
	row("state", "%s", st.State)
	row("vcpus", "%d", st.VCPUs)
	row("uptime", "%s", (time.Duration(st.UptimeSeconds * float64(time.Second))).Round(time.Millisecond))
	row("boots", "%d", st.Boots)
	row("instructions retired", "%d", st.InstructionsRetired)
	row("vcpu time", "%.3fs", st.VCPUSeconds)
	row("throttled", "%.3fs", st.ThrottledSeconds)
	row("memory", "%s", humanBytes(st.MemoryBytes))
	row("host resident", "%s", humanBytes(st.ResidentBytes))
	if b := st.Balloon; b != nil {
		row("balloon target / actual", "%s / %s", humanBytes(b.TargetBytes), humanBytes(b.ActualBytes))
	}
	if c := st.VirtioConsole; c != nil {
		row("virtio console", "client connected: %v; dropped input %s, output %s", c.Connected, humanBytes(c.InputDroppedBytes), humanBytes(c.OutputDroppedBytes))
	}
	row("tlb hits / misses", "%d / %d (%.2f%% hit)", st.TLBHits, st.TLBMisses, 100*st.TLBHitRate)
	row("ecalls", "%d", st.Ecalls)
	for _, kv := range sortedCounts(st.Exceptions) {
		row("exception "+kv.k, "%d", kv.v)
	}
	for _, kv := range sortedCounts(st.Interrupts) {
		row("interrupt "+kv.k, "%d", kv.v)
	}
	for _, kv := range sortedCounts(st.Exits) {
		row("exit "+kv.k, "%d", kv.v)
	}
	for i, d := range st.Disks {
		row(fmt.Sprintf("disk %d", i), "%s: read %d ops %s, write %d ops %s, flush %d, errors %d, throttled %d",
			d.File, d.ReadOps, humanBytes(d.ReadBytes), d.WriteOps, humanBytes(d.WriteBytes), d.FlushOps, d.Errors, d.Throttled)
	}
	for _, h := range st.Harts {
		row(fmt.Sprintf("hart %d", h.ID), "%d instructions", h.InstructionsRetired)
	}
	tw.Flush()
}

type count struct {
	k string
	v uint64
}

func sortedCounts(m map[string]uint64) []count {
	var out []count
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newEventsCommand(stdout io.Writer) *cobra.Command {
	var o clientOptions
	var since string
	var noFollow, asJSON bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream VM lifecycle events",
		Args:  cobra.NoArgs,
		RunE: o.run(func(ctx context.Context, c *api.Client, args []string) error {
			ctx, stop := signalContext(ctx)
			defer stop()
			err := c.Events(ctx, since, !noFollow, func(e vmm.Event) error {
				if asJSON {
					return json.NewEncoder(stdout).Encode(e)
				}
				msg := ""
				if e.Message != "" {
					msg = " (" + e.Message + ")"
				}
				_, err := fmt.Fprintf(stdout, "%s #%d %s %s -> %s%s\n", e.Time.Local().Format(time.RFC3339), e.Seq, e.VM, e.Type, e.State, msg)
				return err
			})
			if ctx.Err() != nil {
				return nil
			}
			return clientError(err)
		}),
	}
	o.register(cmd)
	cmd.Flags().StringVar(&since, "since", "", "replay retained events after this sequence number, or from this RFC 3339 time")
	cmd.Flags().BoolVar(&noFollow, "no-follow", false, "stop after the replay")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print NDJSON")
	return cmd
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
}
