package s3store_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-community/kizuna/internal/media/s3store"
)

var ctx = context.Background()

const (
	accessKey = "KIZUNATESTKEY"
	secretKey = "kizuna/test+secret"
	region    = "ap-northeast-1"
	bucket    = "kizuna-media"
)

// fakeS3 is a tiny S3 on loopback that refuses any request whose SigV4 signature it cannot
// reproduce from the request as received. Its signing code is written apart from the package's.
type fakeS3 struct {
	t       *testing.T
	mu      sync.Mutex
	objects map[string]object
	seen    []string // method and key of each verified request
}

type object struct {
	data        []byte
	contentType string
}

func (f *fakeS3) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>req-1</RequestId></Error>`, code, msg)
}

func hmacOf(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, s)
	return m.Sum(nil)
}

// expectedSignature computes the signature of r from its canonical request.
func expectedSignature(r *http.Request, body []byte, signedHeaders []string, day, amzDate string) string {
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	var query []string
	if rawQuery != "" {
		query = strings.Split(rawQuery, "&")
		slices.Sort(query)
	}
	var headers strings.Builder
	for _, h := range signedHeaders {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canonical := r.Method + "\n" + rawPath + "\n" + strings.Join(query, "&") + "\n" + headers.String() + "\n" +
		strings.Join(signedHeaders, ";") + "\n" + r.Header.Get("X-Amz-Content-Sha256")
	crHash := sha256.Sum256([]byte(canonical))
	scope := day + "/" + region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	k := hmacOf([]byte("AWS4"+secretKey), day)
	for _, part := range []string{region, "s3", "aws4_request"} {
		k = hmacOf(k, part)
	}
	return hex.EncodeToString(hmacOf(k, toSign))
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization")
	amzDate := r.Header.Get("X-Amz-Date")
	var cred, signed, sig string
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	credParts := strings.Split(cred, "/")
	signedHeaders := strings.Split(signed, ";")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || len(credParts) != 5 || credParts[0] != accessKey || len(amzDate) != 16 ||
		credParts[1] != amzDate[:8] || credParts[2] != region || credParts[3] != "s3" || credParts[4] != "aws4_request" {
		f.fail(w, http.StatusForbidden, "InvalidAccessKeyId", "bad credential "+cred)
		return
	}
	for _, must := range []string{"host", "x-amz-content-sha256", "x-amz-date"} {
		if !slices.Contains(signedHeaders, must) {
			f.fail(w, http.StatusForbidden, "AccessDenied", must+" is not signed")
			return
		}
	}
	if sum := sha256.Sum256(body); r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
		f.fail(w, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "the body does not match its hash")
		return
	}
	if want := expectedSignature(r, body, signedHeaders, credParts[1], amzDate); !hmac.Equal([]byte(sig), []byte(want)) {
		f.fail(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	// Virtual-hosted style names the bucket in the host, path style in the path.
	path := r.URL.Path
	if !strings.HasPrefix(r.Host, bucket+".") {
		if !strings.HasPrefix(path, "/"+bucket+"/") {
			f.fail(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		path = strings.TrimPrefix(path, "/"+bucket)
	}
	key := strings.TrimPrefix(path, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, r.Method+" "+key)
	switch r.Method {
	case http.MethodPut:
		if r.ContentLength != int64(len(body)) {
			f.fail(w, http.StatusBadRequest, "IncompleteBody", "length mismatch")
			return
		}
		f.objects[key] = object{data: body, contentType: r.Header.Get("Content-Type")}
		w.Header().Set("ETag", `"etag"`)
	case http.MethodGet:
		o, ok := f.objects[key]
		if !ok {
			f.fail(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		w.Header().Set("Content-Type", o.contentType)
		w.Write(o.data)
	case http.MethodDelete:
		delete(f.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "no")
	}
}

func newServer(t *testing.T) (*fakeS3, *httptest.Server) {
	f := &fakeS3{t: t, objects: map[string]object{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// onlyReader hides a reader's Seek, so Put must read it into memory to hash it.
type onlyReader struct{ io.Reader }

func TestPutGetDelete(t *testing.T) {
	f, srv := newServer(t)
	for _, pathStyle := range []bool{true, false} {
		t.Run(fmt.Sprintf("path-style=%v", pathStyle), func(t *testing.T) {
			cfg := s3store.Config{Endpoint: srv.URL, Region: region, Bucket: bucket, AccessKey: accessKey, SecretKey: secretKey, PathStyle: pathStyle}
			if !pathStyle {
				// Virtual-hosted style puts the bucket in the host name: resolve every name to the server.
				addr := srv.Listener.Addr().String()
				cfg.Endpoint = "http://s3.kizuna.test:" + strings.Split(addr, ":")[1]
				cfg.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}}}
			}
			s, err := s3store.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte("画像\x00\xff"), 1000)
			key := "01JX0000000000000000000000.png"
			if err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "image/png"); err != nil {
				t.Fatal(err)
			}
			odd := "a b+c$d~é.txt"
			if err := s.Put(ctx, odd, onlyReader{strings.NewReader("hello")}, 5, "text/plain"); err != nil {
				t.Fatal(err)
			}
			if o := f.objects[key]; !bytes.Equal(o.data, data) || o.contentType != "image/png" {
				t.Fatalf("stored %d bytes of %s", len(o.data), o.contentType)
			}
			for k, want := range map[string][]byte{key: data, odd: []byte("hello")} {
				rc, err := s.Open(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if !bytes.Equal(got, want) {
					t.Fatalf("read back %d bytes of %s", len(got), k)
				}
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			_, err = s.Open(ctx, key)
			var s3err *s3store.Error
			if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &s3err) || s3err.Code != "NoSuchKey" || s3err.StatusCode != 404 ||
				s3err.Message != "The specified key does not exist." || s3err.RequestID != "req-1" {
				t.Fatalf("open after delete: %#v", err)
			}
			if err := s.Delete(ctx, odd); err != nil {
				t.Fatal(err)
			}
		})
	}
	if want := "PUT 01JX0000000000000000000000.png"; f.seen[0] != want || len(f.seen) != 14 {
		t.Fatalf("requests: %q", f.seen)
	}
}

func TestRefusedRequestsBecomeErrors(t *testing.T) {
	_, srv := newServer(t)
	wrong, err := s3store.New(s3store.Config{Endpoint: srv.URL, Region: region, Bucket: bucket, AccessKey: accessKey, SecretKey: "not the secret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.Put(ctx, "a.png", strings.NewReader("x"), 1, "image/png")
	var s3err *s3store.Error
	if !errors.As(err, &s3err) || s3err.StatusCode != 403 || s3err.Code != "SignatureDoesNotMatch" || errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "s3 put a.png: SignatureDoesNotMatch (status 403)") {
		t.Fatalf("wrong secret: %v", err)
	}
	// Signed for another region (and another day): the server refuses the credential.
	stale, _ := s3store.New(s3store.Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: bucket, AccessKey: accessKey, SecretKey: secretKey, PathStyle: true,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if _, err := stale.Open(ctx, "a.png"); !errors.As(err, &s3err) || s3err.Code != "InvalidAccessKeyId" {
		t.Fatalf("wrong region: %v", err)
	}
	other, _ := s3store.New(s3store.Config{Endpoint: srv.URL, Region: region, Bucket: "elsewhere", AccessKey: accessKey, SecretKey: secretKey, PathStyle: true})
	if _, err := other.Open(ctx, "a.png"); !errors.As(err, &s3err) || s3err.Code != "NoSuchBucket" || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing bucket: %v", err)
	}
	if err := other.Put(ctx, "a.png", strings.NewReader("short"), 10, "image/png"); err == nil {
		t.Fatal("a body shorter than its size was sent")
	}
}

func TestConfigIsChecked(t *testing.T) {
	good := s3store.Config{Endpoint: "https://s3.ap-northeast-1.amazonaws.com", Region: region, Bucket: bucket, AccessKey: accessKey, SecretKey: secretKey}
	if _, err := s3store.New(good); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*s3store.Config){
		"endpoint": func(c *s3store.Config) { c.Endpoint = "s3.amazonaws.com" },
		"scheme":   func(c *s3store.Config) { c.Endpoint = "ftp://s3.amazonaws.com" },
		"region":   func(c *s3store.Config) { c.Region = "" },
		"bucket":   func(c *s3store.Config) { c.Bucket = "" },
		"secret":   func(c *s3store.Config) { c.SecretKey = "" },
		"dotted":   func(c *s3store.Config) { c.Bucket = "media.example.jp" },
	} {
		c := good
		change(&c)
		if _, err := s3store.New(c); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		}
	}
}
