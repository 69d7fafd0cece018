package main

import (
	"io"
	"sync"
)

// inputSink routes console input to the running machine's console; it is
// re-pointed when the guest reboots. Input arriving between machines waits.
type inputSink struct {
	mu   sync.Mutex
	cond *sync.Cond
	dst  io.Writer
	done bool
}

func newInputSink() *inputSink {
	s := &inputSink{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// set installs the current console (nil while no machine runs).
func (s *inputSink) set(w io.Writer) {
	s.mu.Lock()
	s.dst = w
	s.cond.Broadcast()
	s.mu.Unlock()
}

// close makes pending and future writes return at once.
func (s *inputSink) close() {
	s.mu.Lock()
	s.done = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *inputSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	for s.dst == nil && !s.done {
		s.cond.Wait()
	}
	dst, done := s.dst, s.done
	s.mu.Unlock()
	if done {
		return 0, io.ErrClosedPipe
	}
	n, err := dst.Write(p)
	if err != nil {
		// The machine stopped mid-write (reboot): the guest lost the rest,
		// as a real serial line would.
		return len(p), nil
	}
	return n, nil
}

// pumpInput copies in to the sink until EOF or a read error; EOF (a pipe
// closing) leaves the guest running. With a filter (stdin is a terminal)
// Ctrl-A commands are honoured: onQuit runs for Ctrl-A X, help goes to out.
func pumpInput(in io.Reader, filter *escapeFilter, sink io.Writer, out io.Writer, onQuit func()) {
	buf := make([]byte, 4096)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			r := escapeResult{forward: buf[:n]}
			if filter != nil {
				r = filter.feed(buf[:n])
			}
			if len(r.forward) > 0 {
				if _, err := sink.Write(r.forward); err != nil {
					return
				}
			}
			if r.help {
				io.WriteString(out, escapeHelp)
			}
			if r.quit {
				onQuit()
				return
			}
		}
		if err != nil {
			return
		}
	}
}
