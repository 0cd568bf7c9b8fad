package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// anonCookie identifies the browser of a reader who is not logged in, so their views and reading
// time count as one visitor's.
const anonCookie = "kizuna_aid"

// anonCookieAge is how long the anonymous id lasts.
const anonCookieAge = 365 * 24 * time.Hour

// maxBeacon bounds the body of a reading report; a real one is a few dozen bytes.
const maxBeacon = 4 << 10

// anonymousID returns the browser's anonymous id, giving it one (random, a year, HttpOnly) when it
// has none.
func (s *Web) anonymousID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(anonCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: anonCookie, Value: id, Path: "/", MaxAge: int(anonCookieAge.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return id
}

// beaconFields reads a reading report: a form (navigator.sendBeacon with URLSearchParams or
// FormData), or JSON sent as application/json or text/plain.
func beaconFields(r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBeacon)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBeacon); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(body))
	if !strings.HasPrefix(text, "{") {
		return url.ParseQuery(text) // text/plain carrying seconds=15
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := url.Values{}
	for k, v := range in {
		switch x := v.(type) {
		case string:
			out.Set(k, x)
		case float64:
			out.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		case bool:
			if x {
				out.Set(k, "1")
			}
		}
	}
	return out, nil
}

// recordReading takes a page's view or heartbeat report (sent by app.js with sendBeacon) and
// answers 204. Nobody reads the answer, so errors are short plain text.
func (s *Web) recordReading(w http.ResponseWriter, r *http.Request, v *view) {
	plain := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, msg+"\n")
	}
	f, err := beaconFields(r)
	if err != nil {
		plain(http.StatusBadRequest, "unreadable body")
		return
	}
	in := community.Reading{Path: "/posts/" + r.PathValue("id"), Referrer: f.Get("referrer")}
	switch f.Get("view") {
	case "1", "true":
		in.View = true
	}
	if sec := f.Get("seconds"); sec != "" || !in.View {
		n, err := strconv.Atoi(sec)
		if err != nil {
			plain(http.StatusBadRequest, "seconds must be a whole number")
			return
		}
		in.Seconds = n
	}
	if v.Member == nil {
		in.AnonymousID = s.anonymousID(w, r)
	}
	err = s.com.RecordReading(r.Context(), v.principal(), r.PathValue("id"), in)
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	e, ok := errAs(err)
	switch {
	case !ok:
		s.log.ErrorContext(r.Context(), "recording reading", "err", err, "request_id", v.RequestID)
		plain(http.StatusInternalServerError, "internal error; request id "+v.RequestID)
	case e.Kind == errs.KindNotFound:
		plain(http.StatusNotFound, "not found")
	default:
		plain(http.StatusBadRequest, e.Msg)
	}
}
