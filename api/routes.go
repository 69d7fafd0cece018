package api

import (
	"net/http"
	"reflect"

	"github.com/popek-vm/popek/vmm"
)

// route is one endpoint: how it is routed and how it is documented.
type route struct {
	Method, Path string
	Summary      string
	Params       []param
	// Body is the request body: a Go value whose type is the schema, or
	// a media type string for raw bodies.
	Body     any
	BodyDesc string
	// OK is the success status and its body (nil: none; a string: a raw
	// or streaming media type).
	OKStatus int
	OK       any
	OKDesc   string
	Errors   []int // error statuses the endpoint can return
	handler  http.HandlerFunc
}

type param struct {
	Name, In, Type, Desc string
}

var (
	nameParam     = param{Name: "name", In: "path", Type: "string", Desc: "VM name"}
	snapParam     = param{Name: "snap", In: "path", Type: "string", Desc: "snapshot name"}
	templateParam = param{Name: "name", In: "path", Type: "string", Desc: "template name"}
)

// mediaType marks a raw (non-JSON) body in the route table.
type mediaType string

func (s *Server) routes() []route {
	action := func(name, summary string, f func(string) (vmm.VMInfo, error)) route {
		return route{
			Method: http.MethodPost, Path: "/v1/vms/{name}/" + name, Summary: summary,
			Params: []param{nameParam}, OKStatus: http.StatusOK, OK: vmm.VMInfo{},
			OKDesc: "the VM after the change", Errors: []int{404, 409, 400, 500},
			handler: s.lifecycle(f),
		}
	}
	return []route{
		{Method: http.MethodGet, Path: "/openapi.json", Summary: "This OpenAPI 3 document",
			OKStatus: 200, OK: mediaType("application/json"), handler: s.handleOpenAPI},
		{Method: http.MethodGet, Path: "/metrics", Summary: "Prometheus metrics of every VM and of the daemon",
			OKStatus: 200, OK: mediaType("text/plain"), handler: s.metrics.ServeHTTP},
		{Method: http.MethodPost, Path: "/v1/vms", Summary: "Define a VM from a config document (YAML or JSON)",
			Body: vmm.Config{}, BodyDesc: "the VM config document; YAML (application/yaml) is accepted as well as JSON. With template set, the VM is a clone of that template: give only name, template, autostart, no_reboot, cpu_weight, cpu_cap and optionally nets, vsock and virtio_console; its first start resumes the template's guest",
			OKStatus: http.StatusCreated, OK: vmm.VMInfo{}, OKDesc: "the new VM, stopped",
			Errors: []int{400, 409, 413, 500}, handler: s.handleCreate},
		{Method: http.MethodGet, Path: "/v1/vms", Summary: "List VMs",
			OKStatus: 200, OK: []vmm.VMInfo{}, Errors: []int{500}, handler: s.handleList},
		{Method: http.MethodGet, Path: "/v1/vms/{name}", Summary: "Describe a VM",
			Params: []param{nameParam}, OKStatus: 200, OK: vmm.VMInfo{}, Errors: []int{404}, handler: s.handleGet},
		{Method: http.MethodDelete, Path: "/v1/vms/{name}", Summary: "Delete a stopped VM's definition",
			Params:   []param{nameParam, {Name: "force", In: "query", Type: "boolean", Desc: "stop the VM first if it runs"}},
			OKStatus: http.StatusNoContent, OKDesc: "deleted", Errors: []int{400, 404, 409, 500}, handler: s.handleDelete},
		action("start", "Boot a stopped VM", s.mgr.Start),
		action("pause", "Freeze a running VM at an instruction boundary (guest time stops)", s.mgr.Pause),
		action("resume", "Continue a paused VM (guest time continues where it stopped)", s.mgr.Resume),
		action("stop", "Power a VM off at once", s.mgr.Stop),
		action("reboot", "Hard-reset a VM: a fresh machine boots", s.mgr.Reboot),
		{Method: http.MethodGet, Path: "/v1/vms/{name}/console",
			Summary: "Attach to the serial console: a WebSocket (binary frames both ways; text frames carry JSON state notices) when upgraded, else a streaming read of the output",
			Params: []param{nameParam,
				{Name: "scrollback", In: "query", Type: "boolean", Desc: "first replay the last 64 KiB of output"},
				{Name: "follow", In: "query", Type: "boolean", Desc: "keep streaming new output (default true; plain GET only)"},
				{Name: "ticket", In: "query", Type: "string", Desc: "a console ticket, in place of the bearer token on TCP (WebSocket only)"}},
			OKStatus: 200, OK: mediaType("application/octet-stream"), OKDesc: "console output",
			Errors: []int{400, 404}, handler: s.handleConsole},
		{Method: http.MethodPost, Path: "/v1/vms/{name}/console/input", Summary: "Type bytes on the serial console",
			Params: []param{nameParam}, Body: mediaType("application/octet-stream"), BodyDesc: "the bytes to type",
			OKStatus: 200, OK: InputResult{}, Errors: []int{404, 409, 413}, handler: s.handleConsoleInput},
		{Method: http.MethodPost, Path: "/v1/vms/{name}/console/ticket",
			Summary: "Get a console ticket: with ?ticket=T, a WebSocket upgrade of GET /v1/vms/{name}/console needs no Authorization header (for browsers, which cannot set it); single use, valid 30 s, for this VM only",
			Params:  []param{nameParam}, OKStatus: http.StatusCreated, OK: ConsoleTicket{}, OKDesc: "the ticket and when it expires",
			Errors: []int{404, 429}, handler: s.handleConsoleTicket},
		{Method: http.MethodGet, Path: "/v1/vms/{name}/stats", Summary: "A VM's statistics",
			Params: []param{nameParam}, OKStatus: 200, OK: vmm.VMStats{}, Errors: []int{404}, handler: s.handleStats},
		{Method: http.MethodGet, Path: "/v1/vms/{name}/balloon",
			Summary: "A running VM's memory balloon: target and actual size, and the guest's memory statistics (a running guest is asked for fresh ones first, up to 1 s)",
			Params:  []param{nameParam}, OKStatus: 200, OK: vmm.BalloonInfo{}, Errors: []int{404, 409}, handler: s.handleBalloonGet},
		{Method: http.MethodPut, Path: "/v1/vms/{name}/balloon",
			Summary: "Set a running or paused VM's balloon size: the guest gives that much memory back to the host (0 returns it all); the VM's config needs a balloon",
			Params:  []param{nameParam}, Body: vmm.BalloonRequest{}, BodyDesc: "the new size (a bare number means MiB)",
			OKStatus: 200, OK: vmm.BalloonInfo{}, OKDesc: "the balloon; actual_bytes follows the target as the guest's driver works",
			Errors: []int{400, 404, 409, 413}, handler: s.handleBalloonSet},
		{Method: http.MethodPost, Path: "/v1/vms/{name}/snapshots",
			Summary: "Snapshot a running or paused VM (the guest pauses only while it is captured)",
			Params:  []param{nameParam}, Body: vmm.SnapshotRequest{}, BodyDesc: "the snapshot's name; incremental: only pages changed since the VM's last snapshot taken or reverted to in this run",
			OKStatus: http.StatusCreated, OK: vmm.SnapshotInfo{}, OKDesc: "the new snapshot",
			Errors: []int{400, 404, 409, 413, 500}, handler: s.handleSnapshotCreate},
		{Method: http.MethodGet, Path: "/v1/vms/{name}/snapshots", Summary: "List a VM's snapshots, oldest first",
			Params: []param{nameParam}, OKStatus: 200, OK: []vmm.SnapshotInfo{}, Errors: []int{404, 500}, handler: s.handleSnapshotList},
		{Method: http.MethodDelete, Path: "/v1/vms/{name}/snapshots/{snap}",
			Summary: "Delete a snapshot; incremental snapshots that depend on it are first rewritten as full ones",
			Params:  []param{nameParam, snapParam}, OKStatus: http.StatusNoContent, OKDesc: "deleted",
			Errors: []int{400, 404, 500}, handler: s.handleSnapshotDelete},
		{Method: http.MethodPost, Path: "/v1/vms/{name}/snapshots/{snap}/revert",
			Summary: "Replace the VM's machine by the snapshot's: it continues from that instant, running (paused if the VM was paused), with the snapshot's disks",
			Params:  []param{nameParam, snapParam}, OKStatus: 200, OK: vmm.VMInfo{}, OKDesc: "the VM after the revert",
			Errors: []int{400, 404, 409, 500}, handler: s.handleSnapshotRevert},
		{Method: http.MethodPost, Path: "/v1/vms/{name}/migrate",
			Summary: "Live-migrate a running or paused VM to another popek daemon: pre-copy while it runs, a short pause, then it runs there and is deleted here; on any failure it runs on here",
			Params:  []param{nameParam}, Body: MigrateRequest{}, BodyDesc: "the target daemon: target (HOST:PORT of its TCP API) with token, or socket (its Unix socket); compress sends memory zstd-compressed",
			OKStatus: 200, OK: vmm.MigrationResult{}, OKDesc: "timing and volume of the migration; the VM now lives on the target",
			Errors: []int{400, 404, 409, 413, 500, 502}, handler: s.handleMigrate},
		{Method: http.MethodPost, Path: "/v1/migrations",
			Summary:  "Receive a VM by live migration (called by the source daemon): with Upgrade: " + MigrationUpgrade + " the connection switches to popek's migration stream",
			Params:   []param{{Name: "name", In: "query", Type: "string", Desc: "the VM's name; refused with 409 if a VM of that name exists here"}},
			OKStatus: http.StatusSwitchingProtocols, OKDesc: "the connection carries the migration stream from here on",
			Errors: []int{400, 409}, handler: s.handleIncoming},
		{Method: http.MethodPost, Path: "/v1/templates",
			Summary: "Make a template for clones from a VM now, or from one of its snapshots",
			Body:    vmm.TemplateRequest{}, BodyDesc: "the template's name, the VM and optionally the VM's snapshot to copy",
			OKStatus: http.StatusCreated, OK: vmm.TemplateInfo{}, OKDesc: "the new template",
			Errors: []int{400, 404, 409, 413, 500}, handler: s.handleTemplateCreate},
		{Method: http.MethodGet, Path: "/v1/templates", Summary: "List templates",
			OKStatus: 200, OK: []vmm.TemplateInfo{}, Errors: []int{500}, handler: s.handleTemplateList},
		{Method: http.MethodDelete, Path: "/v1/templates/{name}", Summary: "Delete a template no VM was created from",
			Params: []param{templateParam}, OKStatus: http.StatusNoContent, OKDesc: "deleted",
			Errors: []int{400, 404, 409, 500}, handler: s.handleTemplateDelete},
		{Method: http.MethodGet, Path: "/v1/events", Summary: "Stream lifecycle events as newline-delimited JSON",
			Params: []param{
				{Name: "since", In: "query", Type: "string", Desc: "replay retained events after this sequence number, or at and after this RFC 3339 time"},
				{Name: "follow", In: "query", Type: "boolean", Desc: "keep streaming (default true); false ends after the replay"}},
			OKStatus: 200, OK: mediaType("application/x-ndjson"), OKDesc: "one vmm.Event object per line",
			Errors: []int{400}, handler: s.handleEvents},
	}
}

// eventSchema documents the NDJSON lines of /v1/events.
var eventSchema = reflect.TypeOf(vmm.Event{})

// InputResult answers a console input request.
type InputResult struct {
	Written int `json:"written"`
}
