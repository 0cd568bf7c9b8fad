// Package media is the images members upload for their posts. The type is sniffed from the bytes
// (PNG, JPEG, GIF and WebP only; never SVG, which can carry script), the size and the dimensions are
// bounded, the bytes go to a Store (a directory, or an S3-compatible bucket through
// internal/media/s3store) and what Kizuna knows about them to the media table, with an Image
// Uploaded event in the same transaction.
package media

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the media table. It refers to members, so it runs after accounts.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "media", FS: sub}
}

// Limits on uploads.
const (
	DefaultMaxBytes = 10 << 20   // an upload's size when Deps.MaxBytes is 0
	MaxPixels       = 40_000_000 // width × height
	floodUploads    = 30         // uploads a member may make in floodWindow
	floodWindow     = 10 * time.Minute
	maxFilename     = 255
)

// Deps are what the media part needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Store    Store
	Now      func() time.Time // time.Now when nil
	MaxBytes int64            // largest upload; DefaultMaxBytes when 0
}

// Service is the media part.
type Service struct {
	db       *db.DB
	outbox   *backbone.Outbox
	store    Store
	now      func() time.Time
	maxBytes int64
}

// New returns the media service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, store: d.Store, now: d.Now, maxBytes: d.MaxBytes}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	return s
}

// Image is an uploaded image.
type Image struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"` // /media/<id>.<ext>
	ContentType string    `json:"content_type"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	Bytes       int64     `json:"bytes"`
	Filename    string    `json:"filename"` // as the member named it; never a path
	UploaderID  string    `json:"uploader_id"`
	CreatedAt   time.Time `json:"created_at"`
}

// Upload stores an image a signed-in member uploads. The type comes from the bytes, not from
// filename: anything but PNG, JPEG, GIF or WebP is refused (file_type), and so are files over
// MaxBytes (file_too_large), images over 40 megapixels (image_too_large) and more than 30 uploads
// in 10 minutes (upload_flood).
func (s *Service) Upload(ctx context.Context, p accounts.Principal, filename string, r io.Reader) (Image, error) {
	if p.Anonymous() {
		return Image{}, errs.Unauthenticated("log in to upload images")
	}
	if p.MemberID == "" {
		return Image{}, errs.Forbidden("only members upload images")
	}
	now := s.now()
	// Refuse a flood before reading the body; the transaction checks again.
	if err := s.checkFlood(ctx, s.db.R, p.MemberID, now); err != nil {
		return Image{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, s.maxBytes+1))
	if err != nil {
		return Image{}, err
	}
	if int64(len(data)) > s.maxBytes {
		return Image{}, errs.Because(errs.Invalid("file", "the file is larger than %d MiB", s.maxBytes>>20), "file_too_large", s.maxBytes>>20)
	}
	ctype, w, h, err := sniff(data)
	if err != nil {
		return Image{}, errs.Because(errs.Invalid("file", "upload a PNG, JPEG, GIF or WebP image"), "file_type")
	}
	if int64(w)*int64(h) > MaxPixels {
		return Image{}, errs.Because(errs.Invalid("file", "the image is larger than %d megapixels", MaxPixels/1_000_000), "image_too_large", MaxPixels/1_000_000)
	}
	img := Image{ID: id.New(now), ContentType: ctype, Width: w, Height: h, Bytes: int64(len(data)), Filename: cleanFilename(filename),
		UploaderID: p.MemberID, CreatedAt: now.Truncate(time.Millisecond)}
	key := img.ID + "." + extension(ctype)
	img.URL = "/media/" + key
	// The bytes are stored before the row commits: a crash in between leaves an unreferenced object,
	// never a row without its bytes.
	if err := s.store.Put(ctx, key, bytes.NewReader(data), img.Bytes, ctype); err != nil {
		return Image{}, err
	}
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFlood(ctx, tx, p.MemberID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO media (id, storage_key, content_type, width, height, bytes, filename, uploader_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			img.ID, key, ctype, w, h, img.Bytes, img.Filename, p.MemberID, db.Now(now)); err != nil {
			return err
		}
		ev := event.New(event.Track, "Image Uploaded", event.SourceCommunity, now)
		ev.UserID = p.MemberID
		ev.Properties = map[string]any{"image_id": img.ID, "content_type": ctype, "bytes": img.Bytes, "width": w, "height": h}
		return s.outbox.Emit(ctx, tx, ev)
	})
	if err != nil {
		// The row did not commit: take the bytes back, even if the caller has gone.
		s.store.Delete(context.WithoutCancel(ctx), key)
		return Image{}, err
	}
	return img, nil
}

func (s *Service) checkFlood(ctx context.Context, q db.Queryer, memberID string, now time.Time) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM media WHERE uploader_id = $1 AND created_at > $2`,
		memberID, db.Now(now.Add(-floodWindow))).Scan(&n); err != nil {
		return err
	}
	if n >= floodUploads {
		return errs.Because(errs.TooMany("you are uploading very fast; wait a few minutes"), "upload_flood")
	}
	return nil
}

// cleanFilename keeps the last path element of name, without control characters, at most
// maxFilename characters.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxFilename {
		name = string([]rune(name)[:maxFilename])
	}
	return name
}

const imageCols = `id, storage_key, content_type, width, height, bytes, filename, uploader_id, created_at`

// Get returns what Kizuna knows about an image, by id or by the last element of its URL
// ("<id>.<ext>").
func (s *Service) Get(ctx context.Context, ref string) (Image, error) {
	imageID, ext, _ := strings.Cut(ref, ".")
	var img Image
	var key string
	var created int64
	err := s.db.R.QueryRowContext(ctx, `SELECT `+imageCols+` FROM media WHERE id = $1`, imageID).
		Scan(&img.ID, &key, &img.ContentType, &img.Width, &img.Height, &img.Bytes, &img.Filename, &img.UploaderID, &created)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && ext != "" && key != ref) {
		return Image{}, errs.NotFound("no image %s", ref)
	}
	if err != nil {
		return Image{}, err
	}
	img.URL, img.CreatedAt = "/media/"+key, db.Time(created)
	return img, nil
}

// Open returns the bytes of an image, by id or by the last element of its URL, for serving.
// Images are public to whoever has the URL, like attachments in most communities: their ids are
// not guessable.
func (s *Service) Open(ctx context.Context, ref string) (io.ReadCloser, Image, error) {
	img, err := s.Get(ctx, ref)
	if err != nil {
		return nil, Image{}, err
	}
	rc, err := s.store.Open(ctx, strings.TrimPrefix(img.URL, "/media/"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Image{}, errs.NotFound("no image %s", ref)
	}
	if err != nil {
		return nil, Image{}, err
	}
	return rc, img, nil
}
