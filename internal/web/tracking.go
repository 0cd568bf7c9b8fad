package web

import (
	"net/http"
	"net/url"

	"github.com/kizuna-community/kizuna/internal/accounts"
)

// trackerSource is the built-in tracking source of the community's own pages (ingest.Sources.Builtin).
const trackerSource = "Community website"

// anonymousIDCookie is where kizuna.js keeps the browser's anonymous id (AID in
// internal/ingest/static/kizuna.js).
const anonymousIDCookie = "kizuna_aid"

// anonymousID is the browser's tracking id from kizuna.js's cookie, or "" when there is none or
// it is not one accounts accepts: the cookie is the browser's to write, so a bad one is ignored
// rather than refusing a sign-up over it.
func anonymousID(r *http.Request) string {
	c, err := r.Cookie(anonymousIDCookie)
	if err != nil {
		return ""
	}
	v, err := url.QueryUnescape(c.Value) // kizuna.js writes it with encodeURIComponent
	if err != nil || !accounts.ValidAnonymousID(v) {
		return ""
	}
	return v
}

// trackerKey fills the view's tracker write key. A failure costs only the tracking of this page,
// so it is logged and the page goes on.
func (s *Web) trackerKey(r *http.Request, v *view) {
	if s.sources == nil {
		return
	}
	key, err := s.sources.Builtin(r.Context(), trackerSource)
	if err != nil {
		s.log.WarnContext(r.Context(), "reading the community website's tracking key", "err", err, "request_id", v.RequestID)
		return
	}
	v.TrackKey = key
}
