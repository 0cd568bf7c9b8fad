// Package s3store keeps media in an S3-compatible bucket (Amazon S3, MinIO, Cloudflare R2,
// Wasabi …), signing each request with AWS Signature Version 4, written here so Kizuna needs no
// SDK. It is an adapter: the one package in the domain layer allowed to import net/http
// (internal/app/deps_test.go lists it), so that internal/media itself stays free of HTTP.
package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/media"
)

// Config says which bucket to use and how to reach it.
type Config struct {
	Endpoint  string // e.g. https://s3.ap-northeast-1.amazonaws.com or http://127.0.0.1:9000
	Region    string // e.g. ap-northeast-1; "auto" for Cloudflare R2
	Bucket    string
	AccessKey string
	SecretKey string
	// PathStyle addresses objects as <endpoint>/<bucket>/<key> (MinIO and most self-hosted stores)
	// instead of <bucket>.<endpoint host>/<key> (virtual-hosted style, Amazon's default).
	PathStyle bool
	// HTTPClient sends the requests; a client with a two-minute timeout when nil.
	HTTPClient *http.Client
	// Now is the clock requests are signed with; time.Now when nil.
	Now func() time.Time
}

// Store is a media.Store in an S3-compatible bucket.
type Store struct {
	cfg    Config
	base   *url.URL
	client *http.Client
	now    func() time.Time
}

var _ media.Store = (*Store)(nil)

// New checks cfg and returns the store. It sends no request.
func New(cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("s3 endpoint %q must be an http or https URL", cfg.Endpoint)
	}
	switch {
	case cfg.Region == "":
		return nil, errors.New("s3 region is required")
	case cfg.Bucket == "":
		return nil, errors.New("s3 bucket is required")
	case cfg.AccessKey == "" || cfg.SecretKey == "":
		return nil, errors.New("s3 access key and secret key are required")
	case !cfg.PathStyle && strings.Contains(cfg.Bucket, "."):
		return nil, fmt.Errorf("s3 bucket %q has a dot: use path-style addressing", cfg.Bucket)
	}
	s := &Store{cfg: cfg, base: u, client: cfg.HTTPClient, now: cfg.Now}
	if s.client == nil {
		s.client = &http.Client{Timeout: 2 * time.Minute}
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// objectURL returns the URL of key, its path already escaped the way SigV4 canonicalises it.
func (s *Store) objectURL(key string) *url.URL {
	u := *s.base
	prefix := strings.TrimSuffix(u.Path, "/")
	if s.cfg.PathStyle {
		prefix += "/" + s.cfg.Bucket
	} else {
		u.Host = s.cfg.Bucket + "." + u.Host
	}
	u.Path = prefix + "/" + key
	u.RawPath = uriEncode(prefix, false) + "/" + uriEncode(key, false)
	u.RawQuery = ""
	return &u
}

// emptySHA256 is the hash of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Put uploads size bytes from r as key. The payload is signed, so S3 refuses a body changed on the
// way: a reader that cannot seek is read into memory to hash it first.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if size < 0 {
		return fmt.Errorf("s3 put %s: the size must be known", key)
	}
	var body io.ReadSeeker
	if rs, ok := r.(io.ReadSeeker); ok {
		body = rs
	} else {
		b, err := io.ReadAll(io.LimitReader(r, size))
		if err != nil {
			return fmt.Errorf("s3 put %s: %w", key, err)
		}
		body = bytes.NewReader(b)
	}
	start, err := body.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(body, size))
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("s3 put %s: got %d bytes, want %d", key, n, size)
	}
	if _, err := body.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.objectURL(key).String(), io.NopCloser(io.LimitReader(body, size)))
	if err != nil {
		return err
	}
	req.ContentLength = size
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.do(req, hex.EncodeToString(h.Sum(nil)), "put", key)
	if err != nil {
		return err
	}
	return drain(resp)
}

// Open downloads key. A key that is not stored gives an error that wraps fs.ErrNotExist.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.objectURL(key).String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.do(req, emptySHA256, "get", key)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Delete removes key; S3 answers the same whether or not it was stored.
func (s *Store) Delete(ctx context.Context, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.objectURL(key).String(), nil)
	if err != nil {
		return err
	}
	resp, err := s.do(req, emptySHA256, "delete", key)
	if err != nil {
		return err
	}
	return drain(resp)
}

// do signs and sends req and turns an answer other than 2xx into an *Error.
func (s *Store) do(req *http.Request, payloadHash, op, key string) (*http.Response, error) {
	sign(req, payloadHash, s.cfg.AccessKey, s.cfg.SecretKey, s.cfg.Region, s.now())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("s3 %s %s: %w", op, key, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Op: op, Key: key, StatusCode: resp.StatusCode}
	var body struct {
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
		RequestID string `xml:"RequestId"`
	}
	if b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil && xml.Unmarshal(b, &body) == nil {
		e.Code, e.Message, e.RequestID = body.Code, body.Message, body.RequestID
	}
	return nil, e
}

func drain(resp *http.Response) error {
	_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return err
}

// Error is an error answer from the bucket: its status and the Code and Message of its
// <Error> document.
type Error struct {
	Op         string // put, get, delete
	Key        string
	StatusCode int
	Code       string // e.g. NoSuchKey, AccessDenied, SignatureDoesNotMatch
	Message    string
	RequestID  string
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	s := fmt.Sprintf("s3 %s %s: %s (status %d)", e.Op, e.Key, code, e.StatusCode)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// Is makes a missing object match fs.ErrNotExist, as media.Store promises.
func (e *Error) Is(target error) bool {
	return target == fs.ErrNotExist && (e.Code == "NoSuchKey" || (e.Code == "" && e.StatusCode == http.StatusNotFound))
}
