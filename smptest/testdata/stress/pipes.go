package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
)

// pipeline sends fill(size, "chain", seed, round) through stages child
// processes connected by pipes; stage i adds i+1 to every byte. Returns
// SHA-256 of what comes out of the last stage, so the host expects the
// digest of the input with every byte increased by stages*(stages+1)/2.
func pipeline(stages, size int, seed, round uint64) ([sha256.Size]byte, error) {
	var zero [sha256.Size]byte
	self, err := os.Executable()
	if err != nil {
		return zero, err
	}
	cmds := make([]*exec.Cmd, stages)
	for i := range cmds {
		cmds[i] = exec.Command(self, "stage", "-add", strconv.Itoa(i+1))
		cmds[i].Stderr = os.Stderr
	}
	for i := 0; i+1 < stages; i++ {
		if cmds[i+1].Stdin, err = cmds[i].StdoutPipe(); err != nil {
			return zero, err
		}
	}
	head, err := cmds[0].StdinPipe()
	if err != nil {
		return zero, err
	}
	tail, err := cmds[stages-1].StdoutPipe()
	if err != nil {
		return zero, err
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			return zero, err
		}
	}
	writeErr := make(chan error, 1)
	go func() {
		_, err := head.Write(fill(size, "chain", seed, round))
		writeErr <- errors.Join(err, head.Close())
	}()
	d := sha256.New()
	n, readErr := io.Copy(d, tail)
	errs := []error{readErr, <-writeErr}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("stage %d: %v", i+1, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return zero, err
	}
	if n != int64(size) {
		return zero, fmt.Errorf("pipeline returned %d bytes, want %d", n, size)
	}
	var s [sha256.Size]byte
	d.Sum(s[:0])
	return s, nil
}

// fanOut starts procs child processes at once; child i reads
// fill(size, "fan", seed, round, i) from a pipe and answers its SHA-256 in
// hex. The parent checks each answer itself and returns SHA-256 over the
// binary digests in order.
func fanOut(procs, size int, seed, round uint64) ([sha256.Size]byte, error) {
	var zero [sha256.Size]byte
	self, err := os.Executable()
	if err != nil {
		return zero, err
	}
	sums := make([][sha256.Size]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := fill(size, "fan", seed, round, uint64(i))
			var out bytes.Buffer
			c := exec.Command(self, "digest")
			c.Stdin, c.Stdout, c.Stderr = bytes.NewReader(data), &out, os.Stderr
			if err := c.Run(); err != nil {
				errs[i] = fmt.Errorf("digest child %d: %v", i, err)
				return
			}
			sums[i] = sha256.Sum256(data)
			if got := bytes.TrimSpace(out.Bytes()); string(got) != hex.EncodeToString(sums[i][:]) {
				errs[i] = fmt.Errorf("digest child %d answered %q, want %x", i, got, sums[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return zero, err
	}
	var all []byte
	for _, s := range sums {
		all = append(all, s[:]...)
	}
	return sha256.Sum256(all), nil
}

// stageCommand is one pipeline stage: stdin with -add added to every byte
// goes to stdout.
func stageCommand(args []string) error {
	fs := flag.NewFlagSet("stage", flag.ContinueOnError)
	add := fs.Int("add", 0, "value added to every byte")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in := bufio.NewReaderSize(os.Stdin, 32<<10)
	out := bufio.NewWriterSize(os.Stdout, 32<<10)
	buf := make([]byte, 16<<10)
	for {
		n, err := in.Read(buf)
		for i := range buf[:n] {
			buf[i] += byte(*add)
		}
		if _, werr := out.Write(buf[:n]); werr != nil {
			return werr
		}
		if err == io.EOF {
			return out.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// digestCommand prints the hex SHA-256 of stdin.
func digestCommand() error {
	d := sha256.New()
	if _, err := io.Copy(d, os.Stdin); err != nil {
		return err
	}
	_, err := fmt.Printf("%x\n", d.Sum(nil))
	return err
}
