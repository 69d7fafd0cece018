package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDashboardUI uses the dashboard in headless Chromium on the TCP
// listener, as a person would: the login box refuses a wrong token and
// takes the right one, the console (over a console ticket) shows the
// guest and echoes what is typed, and the buttons and their dialogs
// pause, set the balloon, snapshot, make a template and a clone, define a VM from the form,
// revert, stop and delete. Skipped without chromium.
func TestDashboardUI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := startBrowser(t, ctx)
	d := newDaemon(t)
	const vm = "ui-vm"
	d.do(t, call{"POST", "/v1/vms", d.vmDoc(vm, d.echo) + "balloon:\n  size: 2M\n", 201, ""})
	d.do(t, call{"POST", "/v1/vms/" + vm + "/start", "", 200, ""})
	state := func() string {
		_, _, body := req(t, http.DefaultClient, "GET", d.tcp+"/v1/vms/"+vm, bearer)
		var info struct{ State string }
		json.Unmarshal([]byte(body), &info)
		return info.State
	}

	b.navigate(d.tcp + "/#vm=" + vm)
	b.waitFor("the login box", `document.getElementById('login').open`)
	if strings.Contains(string(b.eval(`document.body.innerText`)), vm) {
		t.Fatal("the VM is shown before logging in")
	}
	login := func(token string) {
		b.eval(fmt.Sprintf(`document.getElementById('login-token').value = %q; document.getElementById('login-form').requestSubmit(); true`, token))
	}
	login("wrong-token-0123456789")
	b.waitFor("the refusal", `!document.getElementById('login-error').hidden && document.getElementById('login-error').textContent.includes('refused')`)
	login(dashToken)
	b.waitFor("the VM list", `!document.getElementById('login').open && document.querySelector('#vms tbody').textContent.includes('`+vm+`')`)
	if got := string(b.eval(`sessionStorage.getItem('popek-token')`)); got != `"`+dashToken+`"` {
		t.Fatalf("token in session storage: %s", got)
	}
	if got := string(b.eval(`localStorage.length`)); got != "0" {
		t.Fatalf("local storage holds %s items; the token belongs in session storage only", got)
	}

	// The console: the guest's prompt, then what is typed, echoed back.
	b.waitFor("the console", `document.getElementById('console').textContent.includes('>')`)
	b.eval(`document.getElementById('console').focus(); true`)
	b.typeText("hello")
	b.waitFor("the echo", `document.getElementById('console').textContent.includes('>hello')`)

	b.click("#actions", "Pause")
	b.waitFor("paused", `document.getElementById('detail-state').textContent === 'paused'`)
	if s := state(); s != "paused" {
		t.Fatalf("after Pause the VM is %s", s)
	}
	b.click("#actions", "Resume")
	b.waitFor("running", `document.getElementById('detail-state').textContent === 'running'`)

	// The balloon dialog shows the boot size and sets a new one.
	b.click("#actions", "Balloon…")
	b.waitFor("the balloon dialog", `document.getElementById('ask').open && document.getElementById('ask-message').textContent.includes('target 2.0 MiB')`)
	fill(b, map[string]string{"size": "6M"})
	b.waitFor("the balloon set", `document.getElementById('message').textContent === 'balloon of `+vm+` set to 6M'`)
	var bal struct {
		Target uint64 `json:"target_bytes"`
	}
	_, _, body := req(t, http.DefaultClient, "GET", d.tcp+"/v1/vms/"+vm+"/balloon", bearer)
	if err := json.Unmarshal([]byte(body), &bal); err != nil || bal.Target != 6<<20 {
		t.Fatalf("after the balloon dialog: %s (%v)", body, err)
	}

	b.click("#actions", "Snapshot…")
	b.waitFor("the snapshot dialog", `document.getElementById('ask').open`)
	fill(b, map[string]string{"name": "snap-one"})
	b.waitFor("the snapshot listed", `document.querySelector('#snapshots tbody').textContent.includes('snap-one')`)

	// A template from the running VM, and a VM from the template.
	b.click("#actions", "Make template…")
	b.waitFor("the template dialog", `document.getElementById('ask').open`)
	fill(b, map[string]string{"name": "tmpl-one"})
	b.waitFor("the template listed", `document.querySelector('#templates tbody').textContent.includes('tmpl-one')`)
	b.click("#templates", "New VM")
	b.waitFor("the clone dialog", `document.getElementById('ask').open`)
	fill(b, map[string]string{"name": "clone-one"})
	b.waitFor("the clone running and selected", `document.getElementById('detail-name').textContent === 'clone-one' && document.getElementById('detail-state').textContent === 'running'`)
	b.waitFor("the clone's console", `document.getElementById('console-status').textContent.includes('attached to clone-one')`)

	// The "New VM" form posts a config document.
	b.click("header", "New VM")
	b.waitFor("the new VM form", `document.getElementById('ask').open`)
	b.eval(`document.querySelector('#ask-fields input[name=start]').checked = false; true`)
	fill(b, map[string]string{"name": "form-vm", "vcpus": "2", "memory": "32M", "kernel": d.idle, "net": "user"})
	b.waitFor("the new VM listed", `document.querySelector('#vms tbody').textContent.includes('form-vm')`)
	_, _, body = req(t, http.DefaultClient, "GET", d.tcp+"/v1/vms/form-vm", bearer)
	var info struct {
		State  string
		Config struct {
			VCPUs  int    `json:"vcpus"`
			Memory string `json:"memory"`
			Kernel string `json:"kernel"`
			Nets   []struct{ Mode string }
			Drives []struct{}
		}
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil || info.State != "stopped" || info.Config.VCPUs != 2 ||
		info.Config.Memory != "32M" || info.Config.Kernel != d.idle || len(info.Config.Nets) != 1 || info.Config.Nets[0].Mode != "user" || len(info.Config.Drives) != 0 {
		t.Fatalf("the form made %s (%v)", body, err)
	}

	// Back to the first VM: a click on its row.
	b.waitFor("its row", fmt.Sprintf(`[...document.querySelectorAll('#vms tbody tr')].find((r) => r.cells[0].textContent === %q).click() || true`, vm))
	b.waitFor("the VM selected again", `document.getElementById('detail-name').textContent === '`+vm+`' && document.getElementById('console-status').textContent.includes('attached to `+vm+`')`)

	b.click("#snapshots", "Revert")
	b.click("#ask", "Revert")
	// Each operation ends with a message; waiting for it keeps the next
	// one from overlapping it.
	b.waitFor("the revert done", `document.getElementById('message').textContent === '`+vm+` reverted to snap-one'`)
	b.waitFor("the revert event", `document.getElementById('events').textContent.includes('`+vm+` reverted')`)
	b.click("#snapshots", "Delete")
	b.click("#ask", "Delete")
	b.waitFor("the snapshot deleted", `document.getElementById('message').textContent === 'snapshot snap-one deleted'`)
	b.waitFor("the snapshot gone", `!document.getElementById('no-snapshots').hidden`)
	// A refused operation is reported, not hidden.
	b.click("#templates", "Delete")
	b.click("#ask", "Delete")
	b.waitFor("the refusal", `document.getElementById('message').className === 'error' && document.getElementById('message').textContent.includes('clone-one')`)

	// Stop asks first; cancelling leaves the VM running.
	b.click("#actions", "Stop")
	b.waitFor("the stop dialog", `document.getElementById('ask').open`)
	b.click("#ask", "Cancel")
	b.waitFor("the dialog closed", `!document.getElementById('ask').open`)
	if s := state(); s != "running" {
		t.Fatalf("after cancelling Stop the VM is %s", s)
	}
	b.click("#actions", "Reboot")
	b.waitFor("the reboot dialog", `document.getElementById('ask').open`)
	b.send("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27})
	b.send("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27})
	b.waitFor("the dialog closed by Escape", `!document.getElementById('ask').open`)
	if _, _, body := req(t, http.DefaultClient, "GET", d.tcp+"/v1/events?since=0&follow=false", bearer); strings.Contains(body, `"rebooted"`) {
		t.Fatal("Escape on the reboot dialog rebooted the VM")
	}
	b.click("#actions", "Stop")
	b.click("#ask", "Stop")
	b.waitFor("stopped", `document.getElementById('detail-state').textContent === 'stopped'`)
	b.waitFor("the stop notice", `document.getElementById('console').textContent.includes('stopped: stopped')`)
	b.waitFor("the event", `document.getElementById('events').textContent.includes('stopped')`)

	b.click("#actions", "Delete…")
	b.click("#ask", "Delete")
	b.waitFor("the VM gone", `!document.querySelector('#vms tbody').textContent.includes('`+vm+`')`)
	if status, _, _ := req(t, http.DefaultClient, "GET", d.tcp+"/v1/vms/"+vm, bearer); status != 404 {
		t.Fatalf("after Delete the VM answers %d", status)
	}
}

// fill sets the fields of the open dialog by name and submits it.
func fill(b *browser, values map[string]string) {
	b.t.Helper()
	for name, v := range values {
		b.eval(fmt.Sprintf(`(() => { const e = document.querySelector('#ask-fields [name=%s]'); e.value = %q; e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, name, v))
	}
	b.eval(`document.getElementById('ask-form').requestSubmit(); true`)
	b.waitFor("the dialog closed", `!document.getElementById('ask').open`)
}
