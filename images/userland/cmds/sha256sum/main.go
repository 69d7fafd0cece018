// Command sha256sum prints SHA-256 digests in coreutils' format
// ("HEX  NAME"), reading standard input when given no files or "-".
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func sum(name string, r io.Reader) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	fmt.Printf("%x  %s\n", h.Sum(nil), name)
	return nil
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"-"}
	}
	status := 0
	for _, a := range args {
		var err error
		if a == "-" {
			err = sum("-", os.Stdin)
		} else if f, oerr := os.Open(a); oerr != nil {
			err = oerr
		} else {
			err = sum(a, f)
			f.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "sha256sum: %v\n", err)
			status = 1
		}
	}
	os.Exit(status)
}
