package api

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPISnapshots drives snapshots, revert and templates through the
// HTTP API: status codes, error bodies and the answers' fields.
func TestAPISnapshots(t *testing.T) {
	f := newFixture(t)
	disk := filepath.Join(t.TempDir(), "d.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := f.vmDoc("e", f.echo) + fmt.Sprintf("drives:\n  - file: %s\n", disk)
	big := `{"name": "` + strings.Repeat("x", maxRequestBytes) + `"}`
	steps := []call{
		{"POST", "/v1/vms", doc, 201, `"state": "stopped"`},
		{"POST", "/v1/vms/ghost/snapshots", `{"name": "s"}`, 404, `no VM named \"ghost\"`},
		{"POST", "/v1/vms/e/snapshots", `{"name": "s"}`, 409, `cannot snapshot VM \"e\": it is stopped`},
		{"GET", "/v1/vms/e/snapshots", "", 200, "[]"},
		{"GET", "/v1/vms/ghost/snapshots", "", 404, "no VM"},
		{"POST", "/v1/vms/e/start", "", 200, `"state": "running"`},
		{"POST", "/v1/vms/e/snapshots", `{"name": "s", "bogus": 1}`, 400, "unknown field"},
		{"POST", "/v1/vms/e/snapshots", `{"name": "../s"}`, 400, "name"},
		{"POST", "/v1/vms/e/snapshots", `not json`, 400, "request body"},
		{"POST", "/v1/vms/e/snapshots", big, 413, "too large"},
		{"POST", "/v1/vms/e/snapshots", `{"name": "s1"}`, 201, `"paused_seconds"`},
		{"POST", "/v1/vms/e/snapshots", `{"name": "s1"}`, 409, "already has a snapshot"},
		{"POST", "/v1/vms/e/snapshots", `{"name": "s2", "incremental": true}`, 201, `"parent": "s1"`},
		{"GET", "/v1/vms/e/snapshots", "", 200, `"name": "s2"`},
		{"POST", "/v1/vms/e/snapshots/nope/revert", "", 404, `VM \"e\" has no snapshot \"nope\"`},
		{"POST", "/v1/vms/e/snapshots/s1/revert", "", 200, `"state": "running"`},
		{"GET", "/v1/events?since=0&follow=false", "", 200, `"type":"reverted"`},
		{"GET", "/metrics", "", 200, `popek_vm_snapshots{vm="e"} 2`},
		{"DELETE", "/v1/vms/e/snapshots/nope", "", 404, "no snapshot"},
		{"DELETE", "/v1/vms/e/snapshots/s1", "", 204, ""},
		{"GET", "/v1/vms/e/snapshots", "", 200, `"incremental": false`},
		{"POST", "/v1/templates", `{"name": "t"}`, 400, "vm: missing"},
		{"POST", "/v1/templates", `{"name": "t", "vm": "ghost"}`, 404, "no VM"},
		{"POST", "/v1/templates", `{"name": "t", "vm": "e", "snapshot": "zz"}`, 404, "no snapshot"},
		{"POST", "/v1/templates", `{"name": "t", "vm": "e"}`, 201, `"source_vm": "e"`},
		{"POST", "/v1/templates", `{"name": "t2", "vm": "e", "snapshot": "s2"}`, 201, `"source_snapshot": "s2"`},
		{"POST", "/v1/templates", `{"name": "t", "vm": "e"}`, 409, "already exists"},
		{"GET", "/v1/templates", "", 200, `"name": "t2"`},
		{"GET", "/metrics", "", 200, "popek_templates 2"},
		{"POST", "/v1/vms", `{"name": "c", "template": "nope"}`, 404, `no template named \"nope\"`},
		{"POST", "/v1/vms", `{"name": "c", "template": "t", "vcpus": 2}`, 400, "takes its machine from the template"},
		{"POST", "/v1/vms", `{"name": "c", "template": "t"}`, 201, `"clone_pending": true`},
		{"POST", "/v1/vms/c/start", "", 200, `"state": "running"`},
		{"DELETE", "/v1/templates/t", "", 409, `in use by VM(s) c`},
		{"DELETE", "/v1/templates/nope", "", 404, "no template"},
		{"DELETE", "/v1/vms/c?force=true", "", 204, ""},
		{"DELETE", "/v1/templates/t", "", 204, ""},
		{"DELETE", "/v1/templates/t2", "", 204, ""},
		{"GET", "/v1/templates", "", 200, "[]"},
		{"PUT", "/v1/templates", "", 405, "allowed: GET, POST"},
	}
	for _, c := range steps {
		f.do(t, c)
	}
}
