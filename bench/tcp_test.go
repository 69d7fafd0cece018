package bench

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// loopback returns a connected pair of TCP connections on 127.0.0.1.
func loopback(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return client, <-accepted
}

func TestSinkAndSource(t *testing.T) {
	for _, n := range []int64{1, 4096, 3<<20 + 17} {
		c, s := loopback(t)
		done := make(chan error, 1)
		go func() {
			_, err := c.Write(bytes.Repeat([]byte{'x'}, int(n)))
			done <- err
		}()
		got, err := Sink(s, n)
		if err != nil || got.Bytes != n || got.Duration < 0 {
			t.Errorf("Sink(%d) = %+v, %v", n, got, err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
		// Sink closed its end: the uploader sees the stream end.
		if k, err := c.Read(make([]byte, 1)); k != 0 || err == nil {
			t.Errorf("after Sink: read %d, %v; want EOF", k, err)
		}
		c.Close()

		c, s = loopback(t)
		go func() {
			sent, err := Source(s, n)
			if err != nil || sent.Bytes != n {
				t.Errorf("Source(%d) = %+v, %v", n, sent, err)
			}
		}()
		b, err := io.ReadAll(c)
		if err != nil || int64(len(b)) != n || bytes.Count(b, []byte{0}) != len(b) {
			t.Errorf("downloaded %d bytes (%v), want %d zeros", len(b), err, n)
		}
		c.Close()
	}
}

func TestSinkShortStream(t *testing.T) {
	c, s := loopback(t)
	c.Write([]byte("abc"))
	c.Close()
	got, err := Sink(s, 10)
	if err == nil || !strings.Contains(err.Error(), "3 of 10") || got.Bytes != 3 {
		t.Errorf("Sink on a short stream = %+v, %v", got, err)
	}
}

func TestTransferMBps(t *testing.T) {
	tests := []struct {
		tr   Transfer
		want float64
	}{
		{Transfer{Bytes: 2e6, Duration: 1e9}, 2},
		{Transfer{Bytes: 5e6, Duration: 5e8}, 10},
		{Transfer{Bytes: 100}, 0},
	}
	for _, tc := range tests {
		if got := tc.tr.MBps(); got != tc.want {
			t.Errorf("%+v.MBps() = %v, want %v", tc.tr, got, tc.want)
		}
	}
}
