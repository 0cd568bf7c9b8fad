package ingest

import (
	_ "embed"
	"net/http"
)

// trackerJS is kizuna.js, the browser tracker served at /kizuna.js: analytics.js-style calls
// (kizuna.page, track, identify, reset), batched to /v1/batch as text/plain so browsers send it
// cross-origin without a preflight.
//
//go:embed static/kizuna.js
var trackerJS []byte

// serveTracker serves kizuna.js; web sites on any origin load it with a script tag.
func serveTracker(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(trackerJS)
	}
}
