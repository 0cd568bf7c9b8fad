package api

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// mediaRoutes are the operations on uploaded images. Serving an image is a page route
// (/media/{ref}, outside the API): images are public to whoever has their URL.
func (a *API) mediaRoutes() []route {
	return []route{
		{method: "POST", path: "/media", perm: accounts.PermActAsMember, handle: a.uploadImage},
	}
}

// maxFieldBytes bounds a form field other than the file.
const maxFieldBytes = 200

// uploadImage takes a multipart/form-data body with member_id and then file, the image. An
// upload is always a member's, so an admin key uploads for the member named in member_id. The
// form is streamed: member_id must come before file, so that the member is checked before the
// image is read, and the image goes to the media part without a copy on disk (fields after file
// are not read).
func (a *API) uploadImage(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		return errs.Invalid("body", "Content-Type must be multipart/form-data")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return errs.Invalid("body", "malformed multipart form")
	}
	var member *accounts.Principal
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return err
			}
			return errs.Invalid("body", "malformed multipart form")
		}
		switch name := part.FormName(); name {
		case "member_id":
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return errs.Invalid("body", "malformed multipart form")
			}
			if len(b) > maxFieldBytes {
				return errs.Invalid("member_id", "no member with id %.20s…", b)
			}
			mp, err := a.actingMember(r, p, string(b))
			if err != nil {
				return err
			}
			member = &mp
		case "file":
			if member == nil {
				return errs.Invalid("member_id", "an upload is a member's: send member_id before file in the form")
			}
			img, err := a.media.Upload(r.Context(), *member, part.FileName(), part)
			if err != nil {
				return err
			}
			w.Header().Set("Location", img.URL)
			httpx.WriteJSON(w, http.StatusCreated, img)
			return nil
		default:
			if name == "" {
				name = "body"
			}
			return errs.Invalid(name, "unknown field; send member_id and file")
		}
	}
	if member == nil {
		return errs.Invalid("member_id", "an upload is a member's: name the member it is for in member_id")
	}
	return errs.Invalid("file", "attach the image as the form field file")
}
