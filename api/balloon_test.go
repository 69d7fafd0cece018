package api

import (
	"encoding/json"
	"testing"

	"github.com/popek-vm/popek/vmm"
)

// TestBalloonEndpoints drives the balloon API on a bare-metal guest (which
// has no driver, so the balloon's actual size stays 0): the boot size,
// a new size, refusals of impossible ones, VMs without a balloon, and the
// metrics.
func TestBalloonEndpoints(t *testing.T) {
	f := newFixture(t)
	f.do(t, call{"POST", "/v1/vms", f.vmDoc("b", f.idle) + "balloon:\n  size: 4M\n", 201, ""})
	f.do(t, call{"POST", "/v1/vms", f.vmDoc("n", f.idle), 201, ""})
	f.do(t, call{"GET", "/v1/vms/b/balloon", "", 409, "only while it runs"})
	f.do(t, call{"POST", "/v1/vms/b/start", "", 200, ""})
	f.do(t, call{"POST", "/v1/vms/n/start", "", 200, ""})

	var in vmm.BalloonInfo
	if err := json.Unmarshal([]byte(f.do(t, call{"GET", "/v1/vms/b/balloon", "", 200, ""})), &in); err != nil {
		t.Fatal(err)
	}
	if in.TargetBytes != 4<<20 || in.ActualBytes != 0 || in.GuestMemoryBytes != 16<<20 || in.StatsFresh {
		t.Errorf("boot balloon %+v: want a 4 MiB target, nothing taken yet, no statistics", in)
	}
	if err := json.Unmarshal([]byte(f.do(t, call{"PUT", "/v1/vms/b/balloon", `{"size": "8M"}`, 200, ""})), &in); err != nil {
		t.Fatal(err)
	}
	if in.TargetBytes != 8<<20 {
		t.Errorf("after PUT 8M: %+v", in)
	}
	f.do(t, call{"PUT", "/v1/vms/b/balloon", `{"size": 16}`, 400, "not less than the VM's memory"})
	f.do(t, call{"PUT", "/v1/vms/b/balloon", `{"size": "huge"}`, 400, "balloon size"})
	f.do(t, call{"PUT", "/v1/vms/b/balloon", `{}`, 400, "missing size"})
	f.do(t, call{"PUT", "/v1/vms/b/balloon", `{"size": "1M", "extra": 1}`, 400, ""})
	f.do(t, call{"GET", "/v1/vms/n/balloon", "", 409, "has no balloon"})
	f.do(t, call{"PUT", "/v1/vms/n/balloon", `{"size": "1M"}`, 409, "has no balloon"})
	f.do(t, call{"GET", "/v1/vms/x/balloon", "", 404, ""})
	f.do(t, call{"GET", "/metrics", "", 200, `popek_vm_balloon_target_bytes{vm="b"} 8.388608e+06`})
	var st vmm.VMStats
	if err := json.Unmarshal([]byte(f.do(t, call{"GET", "/v1/vms/b/stats", "", 200, ""})), &st); err != nil {
		t.Fatal(err)
	}
	if st.Balloon == nil || st.Balloon.TargetBytes != 8<<20 || st.Balloon.ActualBytes != 0 {
		t.Errorf("stats balloon %+v", st.Balloon)
	}
}
