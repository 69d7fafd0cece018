package virtio

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// consoleSockBuf bounds guest output waiting for a slow client; beyond it
// output is dropped (counted by ConsoleSocket.Dropped).
const consoleSockBuf = 256 << 10

// ConsoleSocket is a virtio console's host side on a Unix socket popek
// listens on, as QEMU's -chardev socket,server=on,wait=off:
//
//   - One client at a time. While one is connected, further connections
//     wait, unanswered, in the listen backlog (QEMU stops accepting too);
//     the next is served once the current one hangs up.
//   - The client's bytes are the guest's input; the guest's output goes to
//     the client. With no client, output is discarded.
//   - The console's worker never waits on the client: output queues in a
//     bounded buffer written by the client's own goroutine, and what does
//     not fit is dropped.
type ConsoleSocket struct {
	path string
	ln   *net.UnixListener
	wg   sync.WaitGroup

	mu sync.Mutex // guards everything below
	// at is where the socket file is (path, or a staging path until a
	// takeover's Commit) and sock its stat, to unlink it on Close only
	// while it is still this socket's.
	at      string
	sock    os.FileInfo
	closed  bool
	con     *Console      // input goes here; nil between machines
	client  net.Conn      // nil: output is discarded
	out     []byte        // output not yet written to client
	wake    chan struct{} // tells client's writer that out has data
	dropped uint64        // output bytes lost to a full buffer
	served  uint64        // clients accepted so far
}

// ListenConsole listens on path. A stale socket file there is replaced; a
// socket something still listens on (another VM's) or any other file is
// an error.
func ListenConsole(path string) (*ConsoleSocket, error) { return listenConsole(path, false) }

// ListenConsoleTakeover is ListenConsole for a VM that moves to this
// process (a live migration on one host) while the old device still
// listens on path: it listens beside it until Commit moves the socket
// over path, so a migration that fails before then leaves the old one.
func ListenConsoleTakeover(path string) (*ConsoleSocket, error) { return listenConsole(path, true) }

func listenConsole(path string, takeover bool) (*ConsoleSocket, error) {
	if path == "" {
		return nil, errors.New("virtio-console: no Unix socket path")
	}
	at := path
	if takeover {
		at += socketStaging
	}
	ln, sock, err := listenUnix("virtio-console", at)
	if err != nil {
		return nil, err
	}
	s := &ConsoleSocket{path: path, ln: ln, at: at, sock: sock}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Path is the socket's path (after Commit, for a takeover).
func (s *ConsoleSocket) Path() string { return s.path }

// Console returns a new console device on this socket, which it does not
// own: the socket outlives the device (a guest reboot keeps the client).
func (s *ConsoleSocket) Console() *Console {
	c := NewConsole(s)
	c.sock = s
	s.mu.Lock()
	s.con = c
	s.mu.Unlock()
	return c
}

// NewSocketConsole is a console device on its own socket at path (see
// ListenConsole); the device's Close closes the socket.
func NewSocketConsole(path string) (*Console, error) { return newSocketConsole(path, false) }

// NewSocketConsoleTakeover is NewSocketConsole on ListenConsoleTakeover:
// the device's Commit ends the takeover.
func NewSocketConsoleTakeover(path string) (*Console, error) { return newSocketConsole(path, true) }

func newSocketConsole(path string, takeover bool) (*Console, error) {
	s, err := listenConsole(path, takeover)
	if err != nil {
		return nil, err
	}
	c := s.Console()
	c.ownSock = true
	return c, nil
}

// detach stops feeding input to c, if it is the current console.
func (s *ConsoleSocket) detach(c *Console) {
	s.mu.Lock()
	if s.con == c {
		s.con = nil
	}
	s.mu.Unlock()
}

// Dropped counts output bytes lost because a client did not read them
// fast enough (output while no client is connected is not counted).
func (s *ConsoleSocket) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Connected tells whether a client is being served.
func (s *ConsoleSocket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client != nil
}

// Served counts the clients accepted so far.
func (s *ConsoleSocket) Served() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// Write queues guest output for the client and never blocks: with no
// client it is discarded, beyond the buffer it is dropped. It always
// reports success, so a console's output never fails the guest.
func (s *ConsoleSocket) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return len(p), nil
	}
	take := min(max(consoleSockBuf-len(s.out), 0), len(p))
	s.out = append(s.out, p[:take]...)
	s.dropped += uint64(len(p) - take)
	if take > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Commit ends a takeover: the socket replaces whatever is at Path (the
// old device's, which then leaves it alone on Close). It does nothing for
// a socket that is at Path already.
func (s *ConsoleSocket) Commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.at == s.path {
		return nil
	}
	sock, err := moveSocket("virtio-console", s.at, s.path, s.sock)
	if err != nil {
		return err
	}
	s.at, s.sock = s.path, sock
	return nil
}

// Close stops listening, hangs up on the client and removes the socket
// file if it is still this socket's.
func (s *ConsoleSocket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	c, at, sock := s.client, s.at, s.sock
	s.mu.Unlock()
	err := s.ln.Close()
	if c != nil {
		c.Close()
	}
	unlinkOwnSocket(at, sock)
	s.wg.Wait()
	return err
}

// acceptLoop serves one client at a time until the listener closes.
func (s *ConsoleSocket) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // out of descriptors: retry, not spin
			continue
		}
		s.serve(c)
	}
}

// serve feeds the client's bytes to the console until it hangs up (or
// Close hangs up on it), while its writer sends it the guest's output.
func (s *ConsoleSocket) serve(c net.Conn) {
	wake := make(chan struct{}, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.client, s.out, s.wake = c, nil, wake
	s.served++
	s.mu.Unlock()

	done := make(chan struct{})
	s.wg.Add(1)
	go s.writeLoop(c, wake, done)
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			s.mu.Lock()
			con := s.con
			s.mu.Unlock()
			if con != nil {
				con.Input(buf[:n]) // copies
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
	s.mu.Lock()
	s.client, s.out, s.wake = nil, nil, nil // output queued for it is moot
	s.mu.Unlock()
	close(done)
}

// writeLoop writes queued output to c until c is no longer the client.
// A write error hangs up, which ends serve's reads too.
func (s *ConsoleSocket) writeLoop(c net.Conn, wake, done chan struct{}) {
	defer s.wg.Done()
	var spare []byte
	for {
		select {
		case <-wake:
		case <-done:
			return
		}
		s.mu.Lock()
		if s.client != c {
			s.mu.Unlock()
			return
		}
		b := s.out
		s.out = spare[:0]
		s.mu.Unlock()
		if _, err := c.Write(b); err != nil {
			c.Close()
			return
		}
		spare = b
	}
}
