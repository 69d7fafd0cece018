package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/popek-vm/popek/vmm"
)

// maxConfigBytes bounds a config document.
const maxConfigBytes = 1 << 20

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openapi)
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	cfg, err := vmm.ParseConfig(doc)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	info, err := s.mgr.Create(cfg)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	w.Header().Set("Location", "/v1/vms/"+info.Name)
	writeJSON(w, http.StatusCreated, info)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.mgr.List())
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	info, err := s.mgr.Get(r.PathValue("name"))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	force, err := boolParam(r, "force", false)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	if err := s.mgr.Delete(r.PathValue("name"), force); err != nil {
		writeVMMError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// lifecycle serves POST /v1/vms/{name}/ACTION.
func (s *Server) lifecycle(f func(string) (vmm.VMInfo, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info, err := f(r.PathValue("name"))
		if err != nil {
			writeVMMError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	}
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.mgr.Stats(r.PathValue("name"))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// boolParam reads an optional boolean query parameter (1/0, true/false).
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &vmm.Error{Kind: vmm.KindInvalid, Msg: "query parameter " + name + "=" + strconv.Quote(v) + ": want true or false"}
	}
	return b, nil
}

func (s *Server) handleBalloonGet(w http.ResponseWriter, r *http.Request) {
	in, err := s.mgr.Balloon(r.Context(), r.PathValue("name"))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (s *Server) handleBalloonSet(w http.ResponseWriter, r *http.Request) {
	var req vmm.BalloonRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeVMMError(w, err)
		return
	}
	if req.Size == "" {
		writeVMMError(w, &vmm.Error{Kind: vmm.KindInvalid, Msg: "balloon: missing size (0 deflates it)"})
		return
	}
	in, err := s.mgr.SetBalloon(r.PathValue("name"), req.Size)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}
