package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestServes(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", "from './term.js'"},
		{"GET", "/ui/api.js", 200, "text/javascript; charset=utf-8", "export async function consoleURL"},
		{"GET", "/ui/term.js", 200, "text/javascript; charset=utf-8", "export class Terminal"},
		{"GET", "/ui/style.css", 200, "text/css; charset=utf-8", "pre.terminal"},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/ui/index.html", 404, "", ""}, // the page has one address
		{"GET", "/ui/nothing.js", 404, "", ""},
		{"GET", "/ui/", 404, "", ""},
		{"GET", "/ui/../dashboard.go", 404, "", ""},
		{"GET", "/ui/static/app.js", 404, "", ""},
		{"GET", "/elsewhere", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, c := range cases {
		resp, body := get(t, c.method, c.path)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
			continue
		}
		if c.ctype != "" && resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, resp.Header.Get("Content-Type"), c.ctype)
		}
		if !strings.Contains(body, c.contains) {
			t.Errorf("%s %s: body does not contain %q", c.method, c.path, c.contains)
		}
		// Every answer, 404s included, carries the security headers.
		for k, want := range map[string]string{
			"Content-Security-Policy": CSP,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s %s: %s %q, want %q", c.method, c.path, k, got, want)
			}
		}
	}
}

// TestCSPForbidsInline checks the policy and that the page needs nothing
// it forbids: no inline script, style or handler, nothing from elsewhere.
func TestCSPForbidsInline(t *testing.T) {
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, d) {
			t.Errorf("CSP %q lacks %q", CSP, d)
		}
	}
	if strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", CSP)
	}
	_, page := get(t, "GET", "/")
	inline := []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>[^<]+</script>`), // a script with a body
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(?:src|href)="(?:https?:)?//`),
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(tag, ` src="/ui/`) {
			t.Errorf("index.html has %q: a script that is not an embedded file", tag)
		}
	}
	for _, re := range inline {
		if m := re.FindString(page); m != "" {
			t.Errorf("index.html has %q, which the CSP forbids", m)
		}
	}
}

// TestAssetsReferenced checks that every asset the page and scripts name
// is embedded and served, and that every embedded file is reachable.
func TestAssetsReferenced(t *testing.T) {
	root, _ := fs.Sub(files, "static")
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"|from '\./([^']+)'`)
	seen := map[string]bool{"index.html": true}
	queue := []string{"index.html"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		data, err := fs.ReadFile(root, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, m := range refs.FindAllStringSubmatch(string(data), -1) {
			ref := strings.TrimPrefix(m[1], Prefix) + m[2]
			if seen[ref] {
				continue
			}
			seen[ref] = true
			queue = append(queue, ref)
			if resp, _ := get(t, "GET", Prefix+ref); resp.StatusCode != 200 {
				t.Errorf("%s names %s, which answers %d", name, Prefix+ref, resp.StatusCode)
			}
		}
	}
	fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !seen[p] {
			t.Errorf("embedded %s is not used by the page", p)
		}
		return nil
	})
}

func TestIsAsset(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/ui/app.js": true, "/ui/": true,
		"/v1/vms": false, "/ui": false, "/metrics": false, "/openapi.json": false, "": false,
	} {
		if IsAsset(p) != want {
			t.Errorf("IsAsset(%q) = %v, want %v", p, !want, want)
		}
	}
}

// TestTerminalInNode runs testdata/term_test.mjs, the checks of the
// console's escape-sequence handling and key mapping, where node exists.
func TestTerminalInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	out, err := exec.Command(node, "testdata/term_test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("term_test.mjs: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), " passed, 0 failed") {
		t.Fatalf("term_test.mjs ran no checks:\n%s", out)
	}
}
