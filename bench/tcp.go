package bench

import (
	"fmt"
	"io"
	"net"
	"time"
)

// Transfer is one measured TCP stream.
type Transfer struct {
	Bytes    int64
	Duration time.Duration // first byte to last byte
}

// MBps is the transfer's throughput in MB/s (10^6 bytes).
func (t Transfer) MBps() float64 {
	if t.Duration <= 0 {
		return 0
	}
	return float64(t.Bytes) / t.Duration.Seconds() / 1e6
}

// Sink reads n bytes from c (a guest uploading), timing from the first
// byte, then closes c, which also tells a netcat that does not half-close
// on end of input that it is done.
func Sink(c net.Conn, n int64) (Transfer, error) {
	defer c.Close()
	buf := make([]byte, 256<<10)
	var t Transfer
	var start time.Time
	for t.Bytes < n {
		k, err := c.Read(buf)
		if k > 0 && t.Bytes == 0 {
			start = time.Now()
		}
		t.Bytes += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return t, err
		}
	}
	if t.Bytes > 0 {
		t.Duration = time.Since(start)
	}
	if t.Bytes < n {
		return t, fmt.Errorf("stream ended after %d of %d bytes", t.Bytes, n)
	}
	return t, nil
}

// Source writes n zero bytes to c (a guest downloading) and closes it.
// Its Duration ends when the last byte is in the host's socket buffer, so
// the guest's own timing is the better number for downloads.
func Source(c net.Conn, n int64) (Transfer, error) {
	defer c.Close()
	buf := make([]byte, 256<<10)
	start := time.Now()
	var t Transfer
	for t.Bytes < n {
		k, err := c.Write(buf[:min(int64(len(buf)), n-t.Bytes)])
		t.Bytes += int64(k)
		if err != nil {
			return t, err
		}
	}
	t.Duration = time.Since(start)
	return t, nil
}
