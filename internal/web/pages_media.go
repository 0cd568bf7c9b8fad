package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/media"
)

// mediaCSP is the policy of an uploaded image: nothing in it may run or load anything, should a
// browser ever render it as a document.
const mediaCSP = "default-src 'none'; sandbox"

// maxUploadForm bounds a whole upload request: the image limit of the media part plus room for
// the multipart framing. The media part enforces its own (possibly lower) limit.
const maxUploadForm = media.DefaultMaxBytes + 1<<20

// mediaRoutes registers the image routes; Routes calls it when the service is there. Images are
// served outside the page wrapper: they carry their own headers and are the same for everyone.
func (s *Web) mediaRoutes(mux *http.ServeMux, handle func(string, pageHandler)) {
	mux.Handle("GET /media/{ref}", http.HandlerFunc(s.serveMedia))
	handle("GET /media/upload", s.signedIn(s.uploadForm))
	handle("POST /media", s.signedIn(s.upload))
}

// serveMedia sends an uploaded image with the type the media part sniffed from its bytes.
func (s *Web) serveMedia(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", mediaCSP)
	h.Set("Referrer-Policy", "same-origin")
	rc, img, err := s.med.Open(r.Context(), r.PathValue("ref"))
	if errs.KindOf(err) == errs.KindNotFound {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "opening an image", "ref", r.PathValue("ref"), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	h.Set("Content-Type", img.ContentType)
	h.Set("Content-Length", strconv.FormatInt(img.Bytes, 10))
	// The URL names one upload, which never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil && !errors.Is(err, r.Context().Err()) {
		s.log.WarnContext(r.Context(), "sending an image", "ref", r.PathValue("ref"), "err", err)
	}
}

// uploadData is the upload page without JavaScript: the Markdown of the image just uploaded.
type uploadData struct {
	Markdown string
	URL      string
}

func (s *Web) uploadForm(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("media.title")
	v.Data = uploadData{}
	s.render(w, r, 0, "upload", v)
}

// wantsJSON reports whether the composer's script sent the upload and waits for JSON.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// imageMarkdown is the Markdown that shows img, its file name as the alternative text.
func imageMarkdown(img media.Image) string {
	alt := strings.Map(func(r rune) rune {
		switch r {
		case '[', ']', '\\', '\n', '\r':
			return -1
		}
		return r
	}, img.Filename)
	return "![" + alt + "](" + img.URL + ")"
}

// upload stores one image: the script of the composers gets JSON (or a plain-text error in the
// reader's language), a plain form post the upload page with the Markdown to copy.
func (s *Web) upload(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("media.title")
	v.Data = uploadData{}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadForm)
	var img media.Image
	f, hdr, err := r.FormFile("file")
	switch {
	case err == nil:
		defer f.Close()
		img, err = s.med.Upload(r.Context(), v.principal(), hdr.Filename, f)
	case errors.As(err, new(*http.MaxBytesError)):
		err = errs.Because(errs.Invalid("file", "the file is too large"), "file_too_large", media.DefaultMaxBytes>>20)
	default:
		err = errs.Because(errs.Invalid("file", "choose an image"), "file_missing")
	}
	if wantsJSON(r) {
		s.uploadJSON(w, r, v, img, err)
		return
	}
	if s.formFailed(w, r, v, "upload", err) {
		return
	}
	v.Data = uploadData{Markdown: imageMarkdown(img), URL: img.URL}
	s.render(w, r, 0, "upload", v)
}

// uploadJSON answers the composer's script.
func (s *Web) uploadJSON(w http.ResponseWriter, r *http.Request, v *view, img media.Image, err error) {
	if err != nil {
		e, ok := errAs(err)
		if !ok {
			s.log.ErrorContext(r.Context(), "uploading an image", "err", err, "request_id", v.RequestID)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, v.T("error.internal.body", v.RequestID))
			return
		}
		status := http.StatusUnprocessableEntity
		switch e.Kind {
		case errs.KindTooMany:
			status = http.StatusTooManyRequests
		case errs.KindUnauthenticated:
			status = http.StatusUnauthorized
		case errs.KindForbidden:
			status = http.StatusForbidden
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, s.message(v, e))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"id": img.ID, "url": img.URL, "markdown": imageMarkdown(img)})
}
