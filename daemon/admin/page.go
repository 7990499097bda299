package admin

import (
	"embed"
	"io/fs"
	"net/http"
)

// The status page: static HTML, CSS and JS embedded in the binary; the
// script polls /status and /status/traffic and draws the charts itself
// as inline SVG. Nothing is loaded from elsewhere, and the CSP says so.
//
//go:embed ui
var ui embed.FS

const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func handlePage(mux *http.ServeMux) {
	files, _ := fs.Sub(ui, "ui")
	static := http.FileServerFS(files)
	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	}
	mux.HandleFunc("GET /{$}", serve)
	mux.Handle("GET /ui/", http.StripPrefix("/ui", http.HandlerFunc(serve)))
}
