// Package static holds the hand-written stylesheet and icons, embedded in
// the binary (the PNG and ICO icons drawn at start-up, icons.go) and
// served at content-hashed URLs that are cached forever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed *.css *.svg
var files embed.FS

// asset is one embedded file with its hashed name.
type asset struct {
	name   string // "style.css"
	hashed string // "style.3f2a9c1b.css"
	data   []byte
	ctype  string
}

var (
	byHashed = map[string]*asset{}
	byName   = map[string]*asset{}
)

func init() {
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		add(e.Name(), data)
	}
	png192 := encodePNG(drawIcon(192))
	add("icon-192.png", png192)
	add("icon-512.png", encodePNG(drawIcon(512)))
	add("favicon.ico", icoOf(encodePNG(drawIcon(32)), 32))
}

// add registers one file under its name and its content-hashed name.
func add(name string, data []byte) {
	sum := sha256.Sum256(data)
	ext := path.Ext(name)
	a := &asset{
		name:   name,
		hashed: strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext,
		data:   data,
		ctype:  "application/octet-stream",
	}
	switch ext {
	case ".css":
		a.ctype = "text/css; charset=utf-8"
	case ".svg":
		a.ctype = "image/svg+xml"
	case ".png":
		a.ctype = "image/png"
	case ".ico":
		a.ctype = "image/x-icon"
	}
	byHashed[a.hashed] = a
	byName[a.name] = a
}

// Path returns the content-hashed path of an embedded file, relative to
// the static root ("style.3f2a9c1b.css"); "" when there is no such file.
func Path(name string) string {
	if a, ok := byName[name]; ok {
		return a.hashed
	}
	return ""
}

// Handler serves the embedded files by hashed name, cached for a year
// and immutable. Mount it with the static prefix stripped.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := byHashed[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		a.serve(w, r, "public, max-age=31536000, immutable")
	})
}

// File serves one embedded file at a fixed URL (/favicon.ico, which
// browsers ask for by that name), cached for a day.
func File(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := byName[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		a.serve(w, r, "public, max-age=86400")
	})
}

func (a *asset) serve(w http.ResponseWriter, r *http.Request, cache string) {
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(a.data)
}
