// Package api is popek's hypervisor API: REST with JSON over a Unix socket
// (and optionally TCP with a bearer token), serving a vmm.Manager. Routes
// are described once, in routes.go, and both the router and the OpenAPI 3
// document at /openapi.json are built from that table.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/popek-vm/popek/api/dashboard"
	"github.com/popek-vm/popek/vmm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the API's HTTP handler.
type Server struct {
	mgr     *vmm.Manager
	log     *slog.Logger
	mux     *http.ServeMux
	metrics http.Handler
	openapi []byte
	tickets *tickets
}

// NewServer serves mgr; log may be nil.
func NewServer(mgr *vmm.Manager, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{mgr: mgr, log: log, mux: http.NewServeMux(), tickets: newTickets()}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(mgr), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{log}})
	for _, rt := range s.routes() {
		s.mux.HandleFunc(rt.Method+" "+rt.Path, rt.handler)
	}
	// The web dashboard is not part of the API's route table: it is
	// static files, not documented in /openapi.json.
	dash := dashboard.Handler()
	s.mux.Handle("GET /{$}", dash)
	s.mux.Handle("GET "+dashboard.Prefix, dash)
	doc, err := json.MarshalIndent(openAPIDocument(s.routes()), "", "  ")
	if err != nil {
		panic(fmt.Sprintf("api: OpenAPI document does not marshal: %v", err)) // static data: a bug
	}
	s.openapi = doc
	return s
}

// ServeHTTP routes a request, answering unknown paths and methods with
// JSON errors, and turns a panic in a handler into a 500 for that request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("api handler panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	// A page of another site must not drive the API through a user's
	// browser (a socket forwarded to localhost has no token): browsers
	// send Origin on cross-site POST and DELETE, and on every WebSocket
	// upgrade, whose Origin websocket.Accept checks the same way.
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("cross-origin request from %s refused", r.Header.Get("Origin")))
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.notRouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// notRouted tells a wrong method from an unknown path.
func (s *Server) notRouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s (see /openapi.json)", r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
}

// WithToken wraps h so that every request needs "Authorization: Bearer
// token" (for the TCP listener; the Unix socket relies on file modes).
// Two exceptions: the dashboard's static files, which hold no data, and,
// when h is a *Server, a console WebSocket upgrade with a console ticket
// (browsers cannot set the header on a WebSocket).
func WithToken(h http.Handler, token string) http.Handler {
	want := []byte("Bearer " + token)
	srv, _ := h.(*Server)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && dashboard.IsAsset(r.URL.Path) ||
			srv != nil && srv.ticketedConsole(r) {
			h.ServeHTTP(w, r)
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="popek"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ErrorBody is every error response.
type ErrorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg})
}

// writeVMMError maps a vmm error to its status code.
func writeVMMError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch vmm.KindOf(err) {
	case vmm.KindInvalid:
		status = http.StatusBadRequest
	case vmm.KindNotFound:
		status = http.StatusNotFound
	case vmm.KindConflict:
		status = http.StatusConflict
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		status = http.StatusRequestEntityTooLarge
	}
	writeError(w, status, err.Error())
}

// slogPrinter adapts slog for promhttp's error log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics", "err", fmt.Sprint(v...)) }
