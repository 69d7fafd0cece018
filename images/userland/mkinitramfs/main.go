// Command mkinitramfs writes the (uncompressed) newc cpio archives of popek's
// guest images; images/build.sh runs it and gzips the result.
//
//	mkinitramfs -o initramfs.cpio -work DIR -busybox BIN -applets LIST
//	    u-root busybox + popekinit and sh, and BusyBox BIN with LIST's applets
//	mkinitramfs -o tinyinit.cpio -init BINARY  BINARY as /init, nothing else
//
// Both archives are reproducible: fixed record order, zero mtimes and owners.
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/cpio"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"
)

func main() {
	out := flag.String("o", "", "output cpio archive (uncompressed)")
	work := flag.String("work", "", "scratch directory for the busybox build")
	initBinary := flag.String("init", "", "build a single-binary archive with this file as /init")
	busybox := flag.String("busybox", "", "static BusyBox binary for the userland archive")
	applets := flag.String("applets", "", "BusyBox's applet names, one a line")
	flag.Parse()
	if *out == "" {
		log.Fatal("mkinitramfs: -o is required")
	}
	var err error
	if *initBinary != "" {
		err = writeSingleBinary(*out, *initBinary)
	} else {
		err = writeUserland(*out, *work, *busybox, *applets)
	}
	if err != nil {
		log.Fatalf("mkinitramfs: %v", err)
	}
}

// baseRecords are the directories and device nodes every archive needs before
// any file system is mounted: the kernel opens /dev/console for /init's stdio.
func baseRecords() []cpio.Record {
	return []cpio.Record{
		cpio.Directory("bin", 0o755),
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/null", 0o666, 1, 3),
		cpio.Directory("etc", 0o755),
		cpio.Directory("proc", 0o555),
		cpio.Directory("root", 0o700),
		cpio.Directory("run", 0o755),
		cpio.Directory("sys", 0o555),
		cpio.Directory("tmp", 0o1777),
		cpio.Directory("usr", 0o755),
		cpio.Directory("var", 0o755),
		cpio.Directory("var/log", 0o755),
	}
}

// etcRecords give tools such as ls -l and id names for uid/gid 0.
func etcRecords() []cpio.Record {
	return []cpio.Record{
		cpio.StaticFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
		cpio.StaticFile("etc/group", "root:x:0:\n", 0o644),
		cpio.StaticFile("etc/hostname", "popek\n", 0o644),
		cpio.StaticFile("etc/hosts", "127.0.0.1 localhost popek\n::1 localhost\n", 0o644),
	}
}

func writeUserland(out, work, busybox, applets string) error {
	if work == "" || busybox == "" || applets == "" {
		return fmt.Errorf("-work, -busybox and -applets are required for the userland archive")
	}
	bbRecords, err := busyboxRecords(busybox, applets)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	moduleDir, err := os.Getwd()
	if err != nil {
		return err
	}
	recs := append(baseRecords(), etcRecords()...)
	base, err := cpio.ArchiveFromRecords(append(recs, bbRecords...))
	if err != nil {
		return err
	}
	// goshsmall drops gosh's full-screen line editor: our sh is the
	// interactive shell and /bin/sh, gosh is there for those who want it.
	env := golang.Default(golang.DisableCGO(), golang.WithGOOS("linux"), golang.WithGOARCH("riscv64"),
		golang.WithBuildTag("goshsmall"), golang.WithWorkingDir(moduleDir))
	l := llog.New(slog.LevelInfo, log.Printf)
	return uimage.Create(l,
		uimage.WithReplaceEnv(env),
		uimage.WithTempDir(work),
		uimage.WithBaseArchive(base),
		uimage.WithBusyboxCommands(busyboxPackages()...),
		uimage.WithInit("popekinit"),
		uimage.WithShell("sh"),
		uimage.WithSkipLDD(),
		uimage.WithCPIOOutput(out),
	)
}

// writeSingleBinary writes an archive whose /init is the given static binary.
func writeSingleBinary(out, binary string) error {
	content, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	recs := append(baseRecords(), cpio.StaticFile("init", string(content), 0o755))
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := cpio.Newc.Writer(f)
	for _, r := range recs {
		if err := w.WriteRecord(cpio.MakeReproducible(r)); err != nil {
			f.Close()
			return err
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(out))
}
