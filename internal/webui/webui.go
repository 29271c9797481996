// Package webui serves the customer admin web app, embedded in the binary
// so that customerd serves it with nothing else installed. The files in
// assets/ are made from web/src by "npm run build" in web/ (web/build.mjs,
// with esbuild) and committed; CI rebuilds them and fails if they differ.
package webui

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// assets is the output of web/build.mjs. The bundle's files have a content
// hash in their names (app-HASH.js), so they can be cached for good.
//
//go:embed assets
var assets embed.FS

// contentTypes are the types of the files the build makes, fixed here
// rather than read from the host's MIME database, which may lack them.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// csp is the page's Content-Security-Policy. It lets the page load only its
// own script and styles and talk only to its own origin: nothing inline,
// no eval, no frames.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// hashed matches the names esbuild gives the bundle: a content hash
// before the extension.
var hashed = regexp.MustCompile(`-[A-Z0-9]{8}\.[a-z]+$`)

// file is one asset, ready to serve.
type file struct {
	name         string
	body         []byte
	etag         string
	contentType  string
	cacheControl string
}

// Handler returns the handler of the web app. GET or HEAD / serves
// index.html, which browsers must revalidate (it names the current
// bundle); GET or HEAD /NAME serves the asset NAME, cacheable for a year
// when its name carries its content hash, else revalidated too. Every
// response has a strong ETag and honours If-None-Match. Any other path is
// 404, any other method 405. It panics if the embedded assets lack
// index.html, which a build that went wrong would cause.
func Handler() http.Handler {
	files, err := load(assets)
	if err != nil {
		panic("webui: " + err.Error())
	}
	if _, ok := files["/"]; !ok {
		panic("webui: the embedded assets have no index.html; run npm run build in web/")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", f.cacheControl)
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if f.name == "index.html" {
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
		}
		// ServeContent answers If-None-Match (304), ranges and HEAD.
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
	})
}

// load reads every file under assets/ and keys it by the URL path it is
// served at.
func load(fsys fs.FS) (map[string]file, error) {
	files := map[string]file{}
	err := fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		sum := sha256.Sum256(body)
		f := file{
			name:         name,
			body:         body,
			etag:         `"` + hex.EncodeToString(sum[:8]) + `"`,
			contentType:  cmp.Or(contentTypes[path.Ext(name)], "application/octet-stream"),
			cacheControl: "no-cache", // revalidate: the ETag makes that a 304
		}
		if hashed.MatchString(name) {
			f.cacheControl = "public, max-age=31536000, immutable"
		}
		urlPath := "/" + name
		if name == "index.html" {
			urlPath = "/"
		}
		files[urlPath] = f
		return nil
	})
	return files, err
}
