package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// handleEvents streams lifecycle events as NDJSON: first the retained
// events after ?since, then new ones as they happen.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	follow, err := boolParam(r, "follow", true)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	seq := s.mgr.LastEvent()
	if v := r.URL.Query().Get("since"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			seq = n
		} else if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			seq = s.mgr.EventSeqBefore(t)
		} else {
			writeError(w, http.StatusBadRequest, "since="+strconv.Quote(v)+": want a sequence number or an RFC 3339 time")
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush() // the client sees the stream open before the first event
	}
	enc := json.NewEncoder(w)
	for {
		if !follow && seq >= s.mgr.LastEvent() {
			return
		}
		evs, err := s.mgr.WaitEvents(r.Context(), seq)
		if err != nil {
			return
		}
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return
			}
			seq = e.Seq
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}
