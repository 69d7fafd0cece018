// Command tcpsink is the host end of bench/net.sh: it listens on -listen
// and, for each of -conns connections, either reads -bytes bytes (sink,
// the guest uploads) or writes them (source, the guest downloads), and
// prints one line per connection:
//
//	TCP sink 1 bytes=33554432 seconds=2.345 MBps=14.31
//
// The first line is "LISTEN port", so -listen 127.0.0.1:0 picks a free port.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/popek-vm/popek/bench"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on")
	mode := flag.String("mode", "sink", "sink (read from the guest) or source (write to it)")
	n := flag.Int64("bytes", 32<<20, "bytes per connection")
	conns := flag.Int("conns", 1, "connections to serve, then exit")
	flag.Parse()
	serve := bench.Sink
	switch *mode {
	case "sink":
	case "source":
		serve = bench.Source
	default:
		fatal(fmt.Errorf("-mode %q: want sink or source", *mode))
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fatal(err)
	}
	defer l.Close()
	fmt.Printf("LISTEN %d\n", l.Addr().(*net.TCPAddr).Port)
	for i := 1; i <= *conns; i++ {
		c, err := l.Accept()
		if err != nil {
			fatal(err)
		}
		t, err := serve(c, *n)
		if err != nil {
			fatal(fmt.Errorf("connection %d: %v", i, err))
		}
		fmt.Printf("TCP %s %d bytes=%d seconds=%.3f MBps=%.2f\n", *mode, i, t.Bytes, t.Duration.Seconds(), t.MBps())
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "tcpsink:", err)
	os.Exit(1)
}
