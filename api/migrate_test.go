package api

import (
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAPIMigrate moves a VM between two API servers over TCP with a
// bearer token: request checks, a refusing target (409 on both ends), a
// wrong token, an unreachable target, then a migration that succeeds.
func TestAPIMigrate(t *testing.T) {
	src, dst := newFixture(t), newFixture(t)
	const token = "0123456789abcdef-token"
	tgt := httptest.NewServer(WithToken(NewServer(dst.mgr, nil), token))
	t.Cleanup(tgt.Close)
	addr := strings.TrimPrefix(tgt.URL, "http://")
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	body := func(target, tok string) string { return fmt.Sprintf(`{"target": %q, "token": %q}`, target, tok) }
	for _, c := range []call{
		{"POST", "/v1/vms", src.vmDoc("e", src.echo), 201, ""},
		{"POST", "/v1/vms/e/migrate", body(addr, token), 409, `cannot migrate VM \"e\": it is stopped`},
		{"POST", "/v1/vms/e/start", "", 200, ""},
		{"POST", "/v1/vms/e/migrate", `{}`, 400, "exactly one of target"},
		{"POST", "/v1/vms/e/migrate", `{"target": "` + addr + `"}`, 400, "bearer token"},
		{"POST", "/v1/vms/e/migrate", `{"target": "nocolon", "token": "x"}`, 400, "missing port"},
		{"POST", "/v1/vms/ghost/migrate", body(addr, token), 404, "no VM"},
		{"POST", "/v1/vms/e/migrate", body(addr, "wrong-token-0123456"), 502, "missing or wrong bearer token"},
		{"POST", "/v1/vms/e/migrate", body(deadAddr, token), 502, "connecting to the target daemon"},
	} {
		src.do(t, c)
	}
	dst.do(t, call{"POST", "/v1/vms", dst.vmDoc("e", dst.idle), 201, ""})
	dst.do(t, call{"POST", "/v1/migrations?name=e", "", 400, "Upgrade: popek-migration/1"})
	src.do(t, call{"POST", "/v1/vms/e/migrate", body(addr, token), 409, `a VM named \"e\" already exists`})
	src.do(t, call{"GET", "/v1/vms/e", "", 200, `"state": "running"`})
	dst.do(t, call{"DELETE", "/v1/vms/e", "", 204, ""})
	out := src.do(t, call{"POST", "/v1/vms/e/migrate", body(addr, token), 200, `"downtime_seconds"`})
	for _, want := range []string{`"state": "running"`, `"bytes_sent"`, `"target": "` + addr + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("answer %s lacks %s", out, want)
		}
	}
	src.do(t, call{"GET", "/v1/vms/e", "", 404, "no VM"})
	dst.do(t, call{"GET", "/v1/vms/e", "", 200, `"state": "running"`})
	dst.do(t, call{"GET", "/v1/events?since=0&follow=false", "", 200, `"type":"migrated"`})
}
