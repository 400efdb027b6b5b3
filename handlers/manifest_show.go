package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/thumbmail/thumbmail/static"
)

// manifestIcon is one icon entry of the web manifest.
type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose,omitempty"`
}

// showManifest serves the web manifest that makes thumbmail installable
// on a home screen without any script: start URL, scope and icons under
// the request's base path.
func (h *Handler) showManifest(w http.ResponseWriter, r *http.Request) {
	icon := func(name, sizes, typ, purpose string) manifestIcon {
		return manifestIcon{Src: h.url(r, "/static/"+static.Path(name)), Sizes: sizes, Type: typ, Purpose: purpose}
	}
	m := map[string]any{
		"name":             "thumbmail",
		"short_name":       "thumbmail",
		"description":      "Your mail, on any phone",
		"start_url":        h.url(r, "/"),
		"scope":            h.url(r, "/"),
		"display":          "standalone",
		"background_color": "#ffffff",
		"theme_color":      themeColor,
		"icons": []manifestIcon{
			icon("icon.svg", "any", "image/svg+xml", ""),
			icon("icon-192.png", "192x192", "image/png", ""),
			icon("icon-512.png", "512x512", "image/png", "any maskable"),
		},
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	json.NewEncoder(w).Encode(m)
}

// themeColor is the browser chrome colour (manifest and <meta>).
const themeColor = "#0b57d0"
