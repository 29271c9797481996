// Package apidoc serves the REST API's documentation, embedded in the
// binary: the OpenAPI 3 document that buf generate makes from the proto's
// google.api.http options (openapi/openapi.yaml, by gnostic's
// protoc-gen-openapi), and a page that renders it with Swagger UI
// (viewer/, copied from the pinned npm package swagger-ui-dist by
// "npm run build" in web/). Both are committed; CI regenerates them and
// fails if they differ.
package apidoc

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// Document is the OpenAPI 3 document of the REST API, in YAML.
//
//go:embed openapi/openapi.yaml
var Document []byte

//go:embed viewer
var viewer embed.FS

// contentTypes are the types of the files served, fixed here rather than
// read from the host's MIME database.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".yaml": "application/yaml",
}

// csp is the documentation page's Content-Security-Policy: its own scripts
// only, and requests only to its own origin (the document, and the calls
// "Try it out" makes). Swagger UI sets style attributes, hence
// 'unsafe-inline' for styles alone.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Register adds the documentation's routes to mux: GET /openapi.yaml (the
// document), GET /docs (the page) and GET /docs/NAME (its scripts,
// stylesheet and licences). Responses carry a strong ETag, honour
// If-None-Match and are revalidated by browsers on each use.
func Register(mux *http.ServeMux) {
	mux.Handle("GET /openapi.yaml", serve(newFile("openapi.yaml", Document)))
	sub, err := fs.Sub(viewer, "viewer")
	if err != nil {
		panic("apidoc: " + err.Error())
	}
	files := map[string]http.Handler{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		files[p] = serve(newFile(p, body))
		return nil
	})
	if err != nil || files["index.html"] == nil {
		panic("apidoc: the embedded viewer has no index.html; run npm run build in web/")
	}
	mux.Handle("GET /docs", files["index.html"])
	mux.Handle("GET /docs/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := files[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// file is one document or asset, ready to serve.
type file struct {
	name, etag, contentType string
	body                    []byte
}

func newFile(name string, body []byte) file {
	sum := sha256.Sum256(body)
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	return file{name: name, body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: ct}
}

// serve answers GET and HEAD with f.
func serve(f file) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache") // revalidate: the ETag makes that a 304
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if f.name == "index.html" {
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
		}
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
	})
}
