package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Browsers cannot set an Authorization header on a WebSocket, so the
// dashboard first trades its bearer token (on an ordinary POST) for a
// console ticket: random, bound to one VM, good for one upgrade within
// ticketTTL. Only the ticket, never the long-lived token, is in the URL.
const (
	ticketTTL        = 30 * time.Second
	maxOpenTickets   = 1024 // bounds the memory a client can make the daemon hold
	ticketQueryParam = "ticket"
)

// ConsoleTicket answers POST /v1/vms/{name}/console/ticket.
type ConsoleTicket struct {
	Ticket  string    `json:"ticket"`
	Expires time.Time `json:"expires"`
}

type ticket struct {
	vm      string
	expires time.Time
}

// tickets holds the outstanding console tickets of one Server.
type tickets struct {
	mu   sync.Mutex
	open map[string]ticket
	now  func() time.Time
}

func newTickets() *tickets {
	return &tickets{open: map[string]ticket{}, now: time.Now}
}

// issue makes a ticket for vm; ok is false when too many are outstanding.
func (t *tickets) issue(vm string) (ConsoleTicket, bool) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return weak bytes)
	id := base64.RawURLEncoding.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for k, tk := range t.open {
		if !now.Before(tk.expires) {
			delete(t.open, k)
		}
	}
	if len(t.open) >= maxOpenTickets {
		return ConsoleTicket{}, false
	}
	exp := now.Add(ticketTTL)
	t.open[id] = ticket{vm: vm, expires: exp}
	return ConsoleTicket{Ticket: id, Expires: exp}, true
}

// redeem consumes a ticket: true once, for its VM, before it expires.
func (t *tickets) redeem(vm, id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	tk, ok := t.open[id]
	if !ok {
		return false
	}
	delete(t.open, id) // single use, even when it is presented for the wrong VM
	return t.now().Before(tk.expires) && subtle.ConstantTimeCompare([]byte(tk.vm), []byte(vm)) == 1
}

func (s *Server) handleConsoleTicket(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := s.mgr.Get(name); err != nil {
		writeVMMError(w, err)
		return
	}
	tk, ok := s.tickets.issue(name)
	if !ok {
		writeError(w, http.StatusTooManyRequests, "too many outstanding console tickets; retry in a few seconds")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tk)
}

// ticketedConsole tells whether r is a WebSocket upgrade to a VM's console
// carrying a ticket that s issued for that VM, consuming the ticket.
func (s *Server) ticketedConsole(r *http.Request) bool {
	id := r.URL.Query().Get(ticketQueryParam)
	if r.Method != http.MethodGet || id == "" || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/vms/")
	if !ok {
		return false
	}
	name, ok := strings.CutSuffix(rest, "/console")
	if !ok || name == "" || strings.Contains(name, "/") {
		return false
	}
	return s.tickets.redeem(name, id)
}

// sameOrigin tells whether a browser request comes from a page this
// server served: no Origin (not a browser, or a same-origin GET) or an
// Origin whose host is the request's Host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && strings.EqualFold(host, r.Host)
}
