package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
)

// The image types Kizuna accepts. SVG is not among them: it can carry script.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
	GIF  = "image/gif"
	WebP = "image/webp"
)

// extension maps an accepted content type to the extension of its key and URL.
func extension(contentType string) string {
	switch contentType {
	case PNG:
		return "png"
	case JPEG:
		return "jpg"
	case GIF:
		return "gif"
	case WebP:
		return "webp"
	}
	return ""
}

var errNotImage = errors.New("not a PNG, JPEG, GIF or WebP image")

// sniff returns the content type and dimensions of an image from its bytes alone, reading only its
// header (never the pixels, so a small file claiming huge dimensions costs nothing).
func sniff(b []byte) (contentType string, width, height int, err error) {
	var cfg image.Config
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		contentType = PNG
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		contentType = JPEG
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		contentType = GIF
		cfg, err = gif.DecodeConfig(bytes.NewReader(b))
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		contentType = WebP
		cfg.Width, cfg.Height, err = webpSize(b)
	default:
		return "", 0, 0, errNotImage
	}
	if err != nil {
		return "", 0, 0, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, 0, errNotImage
	}
	return contentType, cfg.Width, cfg.Height, nil
}

// webpSize reads the canvas size from a WebP file's RIFF header: the first chunk is VP8 (lossy),
// VP8L (lossless) or VP8X (extended, with the canvas size of an animated or alpha image).
func webpSize(b []byte) (width, height int, err error) {
	bad := errors.New("malformed WebP header")
	if len(b) < 20 {
		return 0, 0, bad
	}
	riff := binary.LittleEndian.Uint32(b[4:8])
	if riff < 12 || uint64(riff)+8 > uint64(len(b)) {
		return 0, 0, bad
	}
	chunk, size := string(b[12:16]), binary.LittleEndian.Uint32(b[16:20])
	p := b[20:]
	if uint64(size) > uint64(len(p)) {
		return 0, 0, bad
	}
	switch chunk {
	case "VP8 ":
		// Frame tag (3 bytes; bit 0 clear on a key frame), start code 9d 01 2a, then 14-bit width and
		// height, each with 2 bits of scaling above.
		if size < 10 || len(p) < 10 || p[0]&1 != 0 || p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a {
			return 0, 0, bad
		}
		return int(binary.LittleEndian.Uint16(p[6:8]) & 0x3fff), int(binary.LittleEndian.Uint16(p[8:10]) & 0x3fff), nil
	case "VP8L":
		// Signature 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha, 3 bits version (0).
		if size < 5 || len(p) < 5 || p[0] != 0x2f {
			return 0, 0, bad
		}
		bits := binary.LittleEndian.Uint32(p[1:5])
		if bits>>29 != 0 {
			return 0, 0, bad
		}
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	case "VP8X":
		// Flags (1 byte), reserved (3), canvas width-1 and height-1 (24 bits each).
		if size < 10 || len(p) < 10 {
			return 0, 0, bad
		}
		w := int(p[4]) | int(p[5])<<8 | int(p[6])<<16
		h := int(p[7]) | int(p[8])<<8 | int(p[9])<<16
		return w + 1, h + 1, nil
	}
	return 0, 0, bad
}
