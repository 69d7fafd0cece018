package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/popek-vm/popek/vmm"
)

// maxInputBytes bounds one console input request or WebSocket message.
const maxInputBytes = 1 << 20

// ConsoleNotice is a WebSocket text frame telling the client about the
// VM's state while attached.
type ConsoleNotice struct {
	Type    string    `json:"type"` // an event type: stopped, failed, started, rebooted...
	State   vmm.State `json:"state"`
	Message string    `json:"message,omitempty"`
}

func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	stream, err := s.mgr.Console(name)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	scrollback, err := boolParam(r, "scrollback", false)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	follow, err := boolParam(r, "follow", true)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	oldest, end := stream.Offsets()
	pos := end
	if scrollback {
		pos = oldest
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		s.consoleWebSocket(w, r, name, stream, pos)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		if !follow {
			if _, end := stream.Offsets(); pos >= end {
				return
			}
		}
		n, next, _, err := stream.ReadAt(r.Context(), buf, pos)
		if err != nil {
			return // the client went away
		}
		pos = next
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// consoleWebSocket pumps output to the client as binary frames, input
// from it to the guest, and state changes as text frames.
func (s *Server) consoleWebSocket(w http.ResponseWriter, r *http.Request, name string, stream *vmm.ConsoleStream, pos uint64) {
	// Accept refuses (403) an Origin other than the request's Host, so a
	// page of another site cannot attach through a user's browser.
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	c.SetReadLimit(maxInputBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := make(chan struct{}, 3)
	guard := func(f func()) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("console pump panic", "vm", name, "panic", p)
			}
			done <- struct{}{}
		}()
		f()
	}
	outbox := make(chan wsFrame, 16)
	go guard(func() { s.consoleOutput(ctx, stream, pos, outbox) })
	go guard(func() { s.consoleNotices(ctx, name, outbox) })
	go guard(func() { s.consoleInput(ctx, c, name) })
	// One writer: the frames of both producers go out in order.
	for {
		select {
		case f := <-outbox:
			if err := c.Write(ctx, f.typ, f.data); err != nil {
				return
			}
		case <-done:
			c.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

type wsFrame struct {
	typ  websocket.MessageType
	data []byte
}

func (s *Server) consoleOutput(ctx context.Context, stream *vmm.ConsoleStream, pos uint64, out chan<- wsFrame) {
	buf := make([]byte, 32<<10)
	for {
		n, next, _, err := stream.ReadAt(ctx, buf, pos)
		if err != nil {
			return
		}
		pos = next
		select {
		case out <- wsFrame{websocket.MessageBinary, append([]byte(nil), buf[:n]...)}:
		case <-ctx.Done():
			return
		}
	}
}

// consoleNotices forwards this VM's lifecycle events.
func (s *Server) consoleNotices(ctx context.Context, name string, out chan<- wsFrame) {
	seq := s.mgr.LastEvent()
	for {
		evs, err := s.mgr.WaitEvents(ctx, seq)
		if err != nil {
			return
		}
		for _, e := range evs {
			seq = e.Seq
			if e.VM != name {
				continue
			}
			b, _ := json.Marshal(ConsoleNotice{Type: e.Type, State: e.State, Message: e.Message})
			select {
			case out <- wsFrame{websocket.MessageText, b}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// consoleInput types what the client sends; a message typed while the VM
// is not running is dropped (the client sees the state in notices).
func (s *Server) consoleInput(ctx context.Context, c *websocket.Conn, name string) {
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if _, err := s.mgr.ConsoleInput(ctx, name, data); err != nil && vmm.KindOf(err) != vmm.KindConflict {
			return
		}
	}
}

func (s *Server) handleConsoleInput(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInputBytes))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	n, err := s.mgr.ConsoleInput(r.Context(), r.PathValue("name"), data)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, InputResult{Written: n})
}
