package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/popek-vm/popek/vmm"
)

// maxRequestBytes bounds a snapshot or template request body.
const maxRequestBytes = 64 << 10

// decodeRequest reads a small JSON request body strictly: unknown fields
// and trailing data are errors.
func decodeRequest(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &vmm.Error{Kind: vmm.KindInvalid, Msg: "request body: " + err.Error()}
	}
	if dec.More() {
		return &vmm.Error{Kind: vmm.KindInvalid, Msg: "request body: trailing data after the JSON object"}
	}
	return nil
}

func (s *Server) handleSnapshotCreate(w http.ResponseWriter, r *http.Request) {
	var req vmm.SnapshotRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeVMMError(w, err)
		return
	}
	name := r.PathValue("name")
	info, err := s.mgr.CreateSnapshot(name, req)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	w.Header().Set("Location", vmPath(name, "snapshots", info.Name))
	writeJSON(w, http.StatusCreated, info)
}

func (s *Server) handleSnapshotList(w http.ResponseWriter, r *http.Request) {
	list, err := s.mgr.ListSnapshots(r.PathValue("name"))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleSnapshotDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.mgr.DeleteSnapshot(r.PathValue("name"), r.PathValue("snap")); err != nil {
		writeVMMError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSnapshotRevert(w http.ResponseWriter, r *http.Request) {
	info, err := s.mgr.RevertSnapshot(r.PathValue("name"), r.PathValue("snap"))
	if err != nil {
		writeVMMError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleTemplateCreate(w http.ResponseWriter, r *http.Request) {
	var req vmm.TemplateRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeVMMError(w, err)
		return
	}
	info, err := s.mgr.CreateTemplate(req)
	if err != nil {
		writeVMMError(w, err)
		return
	}
	w.Header().Set("Location", templatePath(info.Name))
	writeJSON(w, http.StatusCreated, info)
}

func (s *Server) handleTemplateList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.mgr.ListTemplates())
}

func (s *Server) handleTemplateDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.mgr.DeleteTemplate(r.PathValue("name")); err != nil {
		writeVMMError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
