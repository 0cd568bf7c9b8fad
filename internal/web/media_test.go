package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// upload posts one file as the composer's script (json) or the upload page does.
func (b *browser) upload(name string, data []byte, json bool) page {
	b.s.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		b.s.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.s.URL+"/media", &buf)
	if err != nil {
		b.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept-Language", b.lang)
	if json {
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{Response: resp, Body: string(body)}
}

// testPNG is a small PNG made with image/png.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for x := range 24 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 15), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageUpload(t *testing.T) {
	s := newSite(t)
	s.spaces()
	ja := s.member("hana@example.com", "ja")
	en := s.member("ben@example.com", "en")
	data := testPNG(t)

	// The composer's script gets JSON with the Markdown to insert.
	res := ja.upload("画面 [1].png", data, true)
	res.expect(t, http.StatusOK)
	var got struct{ ID, URL, Markdown string }
	if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
		t.Fatalf("upload answer %q: %v", res.Body, err)
	}
	if !strings.HasPrefix(got.URL, "/media/"+got.ID+".png") || got.Markdown != "![画面 1.png]("+got.URL+")" {
		t.Fatalf("upload answer: %+v", got)
	}
	// Anyone with the URL gets the very bytes back, as an image that cannot run anything.
	img := s.browser("").get(got.URL)
	img.expect(t, http.StatusOK)
	if img.Body != string(data) {
		t.Fatalf("the image came back changed: %d bytes, want %d", len(img.Body), len(data))
	}
	for h, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "public, max-age=31536000, immutable", "Content-Security-Policy": "default-src 'none'; sandbox"} {
		if img.Header.Get(h) != want {
			t.Errorf("%s: %q, want %q", h, img.Header.Get(h), want)
		}
	}
	s.browser("").get("/media/01XYZ.png").expect(t, http.StatusNotFound)
	s.browser("").get(strings.TrimSuffix(got.URL, ".png")+".gif").expect(t, http.StatusNotFound)

	// SVG can carry script: refused, in the uploader's language.
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	res = ja.upload("evil.svg", svg, true)
	res.expect(t, http.StatusUnprocessableEntity, "PNG・JPEG・GIF・WebP の画像を選んでください")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("error content type %q", ct)
	}
	en.upload("evil.svg", svg, false).expect(t, http.StatusUnprocessableEntity, `id="file-error">Choose a PNG, JPEG, GIF or WebP image`)

	// Without JavaScript: the upload page shows the Markdown to copy.
	en.get("/media/upload").expect(t, http.StatusOK, "Upload an image", `enctype="multipart/form-data"`)
	en.upload("chart.png", data, false).expect(t, http.StatusOK, "Uploaded.", "![chart.png](/media/")

	// Only members upload.
	anon := s.browser("en")
	anon.upload("a.png", data, false).redirectsTo(t, "/login?next=%2F")
	anon.get("/media/upload").redirectsTo(t, "/login?next=%2Fmedia%2Fupload")

	// The composers offer the upload, with a link for browsers without JavaScript.
	ja.get("/s/guide/new").expect(t, http.StatusOK, "画像を追加", `data-upload="/media"`, `href="/media/upload"`)
}
