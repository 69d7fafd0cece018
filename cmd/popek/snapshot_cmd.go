package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/popek-vm/popek/snapshot"
	"github.com/spf13/cobra"
)

// newSnapshotCommand is "popek snapshot": commands on snapshot
// directories (the daemon's snapshot commands join it as subcommands).
func newSnapshotCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Inspect and manage snapshot directories",
		Long: `Snapshots are written by "popek run --snapshot-dir DIR" (SIGUSR1 or Ctrl-A S)
and restored with "popek run --restore SNAPDIR".`,
	}
	cmd.AddCommand(newSnapshotInspectCommand(stdout), newSnapshotTemplateCommand(stdout))
	cmd.AddCommand(newDaemonSnapshotCommands(stdout)...)
	return cmd
}

func newSnapshotInspectCommand(stdout io.Writer) *cobra.Command {
	var asJSON, quick bool
	cmd := &cobra.Command{
		Use:   "inspect SNAPDIR",
		Short: "Verify a snapshot and print its manifest",
		Long: `Verify a snapshot (format version, every file's size and checksum, the
parent chain) and print what it holds. Fails with one line naming the
problem when anything is wrong.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := snapshot.OpenOptions{}
			if quick {
				o.Verify = snapshot.VerifyMetadata
			}
			s, err := snapshot.OpenWith(args[0], o)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if asJSON {
				b, err := os.ReadFile(filepath.Join(s.Dir, snapshot.ManifestFile))
				if err != nil {
					return err
				}
				_, err = stdout.Write(b)
				return err
			}
			printSnapshot(stdout, s, quick)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print manifest.json as it is (after verifying)")
	cmd.Flags().BoolVar(&quick, "quick", false, "check memory and disk files by size only, not checksum")
	return cmd
}

func printSnapshot(w io.Writer, s *snapshot.Snapshot, quick bool) {
	m := s.Manifest
	fmt.Fprintf(w, "snapshot   %s\n", s.Dir)
	fmt.Fprintf(w, "id         %s\n", m.ID)
	if m.Name != "" {
		fmt.Fprintf(w, "name       %s\n", m.Name)
	}
	fmt.Fprintf(w, "created    %s by popek %s (format %d)\n", m.Created.Local().Format(time.RFC3339), m.PopekVersion, m.FormatVersion)
	fmt.Fprintf(w, "template   %v\n", m.Template)
	for p := s; p.Parent != nil; p = p.Parent {
		fmt.Fprintf(w, "parent     %s (%s)\n", p.Parent.Dir, p.Parent.Manifest.ID)
	}
	v := m.VM
	fmt.Fprintf(w, "machine    %d hart(s), %d MiB, %s boot, mmu %s\n", v.Harts, v.MemSize>>20, v.Boot, orDefault(v.MMU, "sv57"))
	if v.Cmdline != "" {
		fmt.Fprintf(w, "cmdline    %s\n", v.Cmdline)
	}
	mem := m.Memory
	fmt.Fprintf(w, "memory     %s, %d of %d pages stored", mem.Format, mem.StoredPages, mem.Pages)
	if m.Parent != nil {
		fmt.Fprintf(w, " (%d changed since the parent)", mem.ChangedPages)
	}
	fmt.Fprintln(w)
	for _, d := range v.Devices {
		fmt.Fprintf(w, "slot %d     %s%s\n", d.Slot, d.Kind, deviceDetail(d))
	}
	fmt.Fprintln(w, "files")
	for _, f := range m.Files {
		fmt.Fprintf(w, "  %-16s %12d  %s\n", f.Name, f.Size, f.Digest)
	}
	what := "all checksums verified"
	if quick {
		what = "metadata verified, data by size only"
	}
	fmt.Fprintf(w, "ok         %s in %v\n", what, s.VerifyTime.Round(time.Microsecond))
}

func deviceDetail(d snapshot.DeviceSpec) string {
	var parts []string
	switch {
	case d.Block != nil:
		b := d.Block
		switch {
		case b.Image != "":
			parts = append(parts, "disk "+b.Image)
		case b.Overlay != "":
			parts = append(parts, "overlay "+b.Overlay+" on "+b.Base)
		default:
			parts = append(parts, "image "+b.Base)
		}
		if b.ReadOnly {
			parts = append(parts, "read-only")
		}
		if b.Serial != "" {
			parts = append(parts, "serial "+b.Serial)
		}
	case d.Net != nil:
		parts = append(parts, "mac "+d.Net.MAC)
	case d.Vsock != nil:
		parts = append(parts, fmt.Sprintf("cid %d", d.Vsock.CID))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newSnapshotTemplateCommand(stdout io.Writer) *cobra.Command {
	var unset bool
	cmd := &cobra.Command{
		Use:   "template SNAPDIR",
		Short: "Mark a snapshot as a template for clones (--unset to clear)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mark := snapshot.MarkTemplate
			if unset {
				mark = snapshot.UnmarkTemplate
			}
			if err := mark(args[0]); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&unset, "unset", false, "clear the template mark")
	return cmd
}
