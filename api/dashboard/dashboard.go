// Package dashboard is the daemon's web dashboard: a single page of plain
// HTML, CSS and JavaScript embedded in the binary (no build step, nothing
// fetched from elsewhere), driving the REST API from the browser.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// Prefix is where the page's assets live; the page itself is at "/".
const Prefix = "/ui/"

// CSP allows only the page's own scripts, styles and connections: no
// inline script or style, no other origin, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// contentTypes are set explicitly rather than from the host's MIME table,
// which may map .js to something a browser refuses under nosniff.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// IsAsset tells whether a request path belongs to the dashboard (the
// page or an asset); the API's token check lets these through, since they
// hold no data.
func IsAsset(p string) bool {
	return p == "/" || strings.HasPrefix(p, Prefix)
}

// Handler serves GET and HEAD of "/" (index.html) and Prefix+FILE.
func Handler() http.Handler {
	root, err := fs.Sub(files, "static")
	if err != nil {
		panic("dashboard: embedded static directory missing: " + err.Error()) // build-time content: a bug
	}
	return handler{root}
}

type handler struct{ root fs.FS }

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := ""
	switch {
	case r.URL.Path == "/":
		name = "index.html"
	case strings.HasPrefix(r.URL.Path, Prefix):
		name = strings.TrimPrefix(r.URL.Path, Prefix)
	}
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctype, ok := contentTypes[path.Ext(name)]
	// index.html is only served as "/", so the page has one address.
	if name == "" || name == "index.html" && r.URL.Path != "/" || !ok || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(h.root, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	// The assets change with the binary: revalidate rather than cache
	// stale JavaScript across a daemon upgrade.
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}
