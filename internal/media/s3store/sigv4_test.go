package s3store

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The examples of Amazon's documentation for header-based SigV4 authentication
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
func TestSignMatchesAWSExamples(t *testing.T) {
	const (
		accessKey = "AKIAIOSFODNN7EXAMPLE"
		secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	)
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

	get, _ := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	get.Header.Set("Range", "bytes=0-9")
	sign(get, emptySHA256, accessKey, secretKey, "us-east-1", at)
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := get.Header.Get("Authorization"); got != want {
		t.Errorf("GET:\n got %s\nwant %s", got, want)
	}

	s := &Store{cfg: Config{Bucket: "examplebucket"}}
	s.base = mustParse(t, "https://s3.amazonaws.com")
	u := s.objectURL("test$file.text")
	put, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("Welcome to Amazon S3."))
	if put.URL.Host != "examplebucket.s3.amazonaws.com" || put.URL.EscapedPath() != "/test%24file.text" {
		t.Fatalf("object URL %s", put.URL)
	}
	put.Header.Set("Date", "Fri, 24 May 2013 00:00:00 GMT")
	put.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	sign(put, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", accessKey, secretKey, "us-east-1", at)
	if got := put.Header.Get("Authorization"); !strings.HasSuffix(got, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "+
		"Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") {
		t.Errorf("PUT: %s", got)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
