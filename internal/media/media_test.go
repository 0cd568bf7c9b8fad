package media_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/media"
)

var ctx = context.Background()

type fixture struct {
	t    *testing.T
	db   *db.DB
	acc  *accounts.Service
	m    *media.Service
	dir  string
	mu   sync.Mutex
	now  time.Time
	seen int
}

func newFixture(t *testing.T, e db.Engine, maxBytes int64) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), media.Migrations())
	f := &fixture{t: t, db: d, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), dir: filepath.Join(t.TempDir(), "media")}
	clock := func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.now = f.now.Add(time.Second)
		return f.now
	}
	ob := backbone.NewOutbox(d)
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: slog.New(slog.DiscardHandler), HashParams: accounts.TestHashParams(), Now: clock})
	f.m = media.New(media.Deps{DB: d, Outbox: ob, Store: media.DirStore{Root: f.dir}, Now: clock, MaxBytes: maxBytes})
	return f
}

func (f *fixture) member(email string) accounts.Principal {
	f.t.Helper()
	m, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: email, Password: "member password", DisplayName: "m"}, accounts.RoleMember)
	if err != nil {
		f.t.Fatal(err)
	}
	return m.Principal()
}

type tracked struct {
	Event      string         `json:"event"`
	UserID     string         `json:"userId"`
	Properties map[string]any `json:"properties"`
}

// uploads returns the Image Uploaded events committed since the last call.
func (f *fixture) uploads() []tracked {
	f.t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []tracked
	i := 0
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			f.t.Fatal(err)
		}
		if i++; i <= f.seen {
			continue
		}
		var ev tracked
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			f.t.Fatal(err)
		}
		if ev.Event == "Image Uploaded" {
			out = append(out, ev)
		}
	}
	f.seen = i
	return out
}

func wantErr(t *testing.T, err error, kind errs.Kind, field, reason string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Field != field || e.Reason != reason {
		t.Fatalf("got %v, want kind %v field %q reason %q", err, kind, field, reason)
	}
}

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Noise from a linear congruential generator, so the file does not compress away.
	seed := uint32(w*31 + h)
	for i := range img.Pix {
		seed = seed*1664525 + 1013904223
		img.Pix[i] = uint8(seed >> 24)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withPNGSize rewrites the dimensions in a PNG's header (and its checksum), leaving the pixels: a
// small file that claims to be huge.
func withPNGSize(b []byte, w, h uint32) []byte {
	out := bytes.Clone(b)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func decode64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WebP files of 1×1 pixel, one of each kind of first chunk (the feature tests browsers use).
const (
	webpLossy    = "UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA"
	webpLossless = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="
	webpAlpha    = "UklGRkoAAABXRUJQVlA4WAoAAAAQAAAAAAAAAAAAQUxQSAwAAAARBxAR/Q9ERP8DAABWUDggGAAAABQBAJ0BKgEAAQAAAP4AAA3AAP7mtQAAAA=="
)

func TestUploadServesAndEmits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e, 0)
		m := f.member("yui@example.jp")
		data := pngImage(t, 64, 48)

		_, err := f.m.Upload(ctx, accounts.Principal{}, "a.png", bytes.NewReader(data))
		wantErr(t, err, errs.KindUnauthenticated, "", "")
		_, err = f.m.Upload(ctx, accounts.Principal{APIKeyID: "k1", Role: accounts.RoleAdmin, Scopes: []accounts.Scope{accounts.ScopeWrite}}, "a.png", bytes.NewReader(data))
		wantErr(t, err, errs.KindForbidden, "", "")

		// The name says JPEG; the bytes say PNG, and the bytes win.
		img, err := f.m.Upload(ctx, m, "C:\\写真\\screenshot\x00.jpg", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if img.ContentType != media.PNG || img.Width != 64 || img.Height != 48 || img.Bytes != int64(len(data)) || img.UploaderID != m.MemberID ||
			img.URL != "/media/"+img.ID+".png" || img.Filename != "screenshot.jpg" {
			t.Fatalf("image: %+v", img)
		}
		evs := f.uploads()
		if len(evs) != 1 || evs[0].UserID != m.MemberID || evs[0].Properties["image_id"] != img.ID || evs[0].Properties["content_type"] != media.PNG ||
			evs[0].Properties["bytes"] != float64(len(data)) || evs[0].Properties["width"] != 64.0 || evs[0].Properties["height"] != 48.0 {
			t.Fatalf("events: %+v", evs)
		}

		// Stored atomically, readable only by the server's group, nothing left behind.
		entries, _ := os.ReadDir(f.dir)
		if len(entries) != 1 || entries[0].Name() != img.ID+".png" {
			t.Fatalf("media directory: %v", entries)
		}
		if info, _ := entries[0].Info(); info.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v", info.Mode().Perm())
		}

		for _, ref := range []string{img.ID, img.ID + ".png"} {
			rc, got, err := f.m.Open(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(b, data) || got.ID != img.ID || got.ContentType != media.PNG || !got.CreatedAt.Equal(img.CreatedAt) || got.Filename != img.Filename {
				t.Fatalf("Open(%s): %+v, %d bytes", ref, got, len(b))
			}
		}
		_, _, err = f.m.Open(ctx, img.ID+".gif")
		wantErr(t, err, errs.KindNotFound, "", "")
		_, _, err = f.m.Open(ctx, "01NOSUCHIMAGE")
		wantErr(t, err, errs.KindNotFound, "", "")
		// A row whose bytes are gone answers like a missing image.
		os.Remove(filepath.Join(f.dir, img.ID+".png"))
		_, _, err = f.m.Open(ctx, img.ID)
		wantErr(t, err, errs.KindNotFound, "", "")
	})
}

func TestUploadAcceptsOnlyRasterImages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e, 0)
		m := f.member("yui@example.jp")
		src := image.NewPaletted(image.Rect(0, 0, 30, 20), []color.Color{color.Black, color.White})
		var jb, gb bytes.Buffer
		if err := jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 40, 30)), nil); err != nil {
			t.Fatal(err)
		}
		if err := gif.Encode(&gb, src, nil); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, ctype string
			data        []byte
			w, h        int
		}{
			{"photo.jpg", media.JPEG, jb.Bytes(), 40, 30},
			{"anim.gif", media.GIF, gb.Bytes(), 30, 20},
			{"lossy.webp", media.WebP, decode64(t, webpLossy), 1, 1},
			{"lossless.webp", media.WebP, decode64(t, webpLossless), 1, 1},
			{"alpha.webp", media.WebP, decode64(t, webpAlpha), 1, 1},
		} {
			img, err := f.m.Upload(ctx, m, c.name, bytes.NewReader(c.data))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if img.ContentType != c.ctype || img.Width != c.w || img.Height != c.h || !strings.HasSuffix(img.URL, "."+strings.TrimPrefix(c.ctype, "image/")) && c.ctype != media.JPEG {
				t.Fatalf("%s: %+v", c.name, img)
			}
		}
		if n := len(f.uploads()); n != 5 {
			t.Fatalf("%d events for 5 uploads", n)
		}

		svg := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
		truncated := pngImage(t, 10, 10)[:20]
		notWebP := decode64(t, webpLossless)
		notWebP[20] = 0x00 // wrong VP8L signature
		for name, data := range map[string][]byte{
			"evil.svg": []byte(svg), "evil.png": []byte(svg), "empty.png": nil, "notes.txt": []byte("hello"),
			"cut.png": truncated, "bad.webp": notWebP, "html.gif": []byte("<html>GIF89a"),
		} {
			_, err := f.m.Upload(ctx, m, name, bytes.NewReader(data))
			wantErr(t, err, errs.KindInvalid, "file", "file_type")
		}

		// 8000 × 5001 pixels claimed in a tiny file.
		_, err := f.m.Upload(ctx, m, "huge.png", bytes.NewReader(withPNGSize(pngImage(t, 4, 4), 8000, 5001)))
		wantErr(t, err, errs.KindInvalid, "file", "image_too_large")
		if _, err := f.m.Upload(ctx, m, "big.png", bytes.NewReader(withPNGSize(pngImage(t, 4, 4), 8000, 5000))); err != nil {
			t.Fatalf("40 megapixels exactly: %v", err)
		}
		bigWebP := decode64(t, webpAlpha)
		bigWebP[24], bigWebP[25], bigWebP[26] = 0xff, 0xff, 0xff // canvas 2^24 × 3
		bigWebP[27] = 0x02
		_, err = f.m.Upload(ctx, m, "huge.webp", bytes.NewReader(bigWebP))
		wantErr(t, err, errs.KindInvalid, "file", "image_too_large")
		if n := len(f.uploads()); n != 1 {
			t.Fatalf("%d events for 1 accepted upload", n)
		}
		if entries, _ := os.ReadDir(f.dir); len(entries) != 6 {
			t.Fatalf("refused uploads left files: %d", len(entries))
		}
	})
}

func TestUploadSizeAndFloodLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e, 4096)
		m := f.member("yui@example.jp")
		other := f.member("riku@example.jp")
		big := pngImage(t, 300, 300)
		if len(big) <= 4096 {
			t.Fatalf("test image is only %d bytes", len(big))
		}
		_, err := f.m.Upload(ctx, m, "big.png", bytes.NewReader(big))
		wantErr(t, err, errs.KindInvalid, "file", "file_too_large")

		small := pngImage(t, 8, 8)
		for i := range 30 {
			if _, err := f.m.Upload(ctx, m, "a.png", bytes.NewReader(small)); err != nil {
				t.Fatalf("upload %d: %v", i+1, err)
			}
		}
		_, err = f.m.Upload(ctx, m, "a.png", bytes.NewReader(small))
		wantErr(t, err, errs.KindTooMany, "", "upload_flood")
		if _, err := f.m.Upload(ctx, other, "a.png", bytes.NewReader(small)); err != nil {
			t.Fatalf("the limit is per member: %v", err)
		}
		f.mu.Lock()
		f.now = f.now.Add(10 * time.Minute)
		f.mu.Unlock()
		if _, err := f.m.Upload(ctx, m, "a.png", bytes.NewReader(small)); err != nil {
			t.Fatalf("after 10 minutes: %v", err)
		}
		if n := len(f.uploads()); n != 32 {
			t.Fatalf("%d events for 32 uploads", n)
		}
	})
}

func TestDirStore(t *testing.T) {
	s := media.DirStore{Root: filepath.Join(t.TempDir(), "media")}
	if err := s.Put(ctx, "a.png", strings.NewReader("abc"), 3, media.PNG); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a.png", strings.NewReader("replaced"), 8, media.PNG); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, "a.png")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "replaced" {
		t.Fatalf("read %q", b)
	}
	// A short body never replaces what is stored.
	if err := s.Put(ctx, "a.png", strings.NewReader("abc"), 10, media.PNG); err == nil {
		t.Fatal("a body shorter than its size was stored")
	}
	for _, key := range []string{"../escape", ".put-x", "a/b", "", strings.Repeat("a", 201)} {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1, media.PNG); err == nil {
			t.Fatalf("key %q accepted", key)
		}
	}
	entries, _ := os.ReadDir(s.Root)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if err := s.Delete(ctx, "a.png"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a.png"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.Open(ctx, "a.png"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open after delete: %v", err)
	}
}
