package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
)

// BenchmarkThreadPage renders a 200-reply question for a signed-in member through the real
// services and the loopback server, and reports the page's size.
func BenchmarkThreadPage(b *testing.B) {
	s := newSite(b)
	s.spaces()
	reader := s.member("reader@example.com", "ja")
	ctx := context.Background()
	var authors []string
	for i := range 5 {
		email := fmt.Sprintf("author%d@example.com", i)
		s.member(email, "ja")
		authors = append(authors, s.memberID(email))
	}
	post := s.postAs("author0@example.com", "guide", community.PostInput{Kind: community.Question,
		Title: "二百件の返信があるスレッド", Body: "長いスレッドの表示速度を測ります。\n\n- 一つ目\n- 二つ目"})
	for i := range 200 {
		c, err := s.com.AddComment(ctx, accounts.System(), post.ID, community.CommentInput{
			Body: fmt.Sprintf("返信 %d: **太字** と `code` を含む、ほどほどの長さの本文です。同じ問題が起きています。", i), AuthorID: authors[i%len(authors)]})
		if err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if err := s.com.React(ctx, accounts.Principal{MemberID: authors[(i+1)%len(authors)], Role: accounts.RoleMember}, "comment", c.ID, "like"); err != nil {
				b.Fatal(err)
			}
		}
	}
	path := "/posts/" + post.ID
	first := reader.get(path)
	if first.StatusCode != http.StatusOK {
		b.Fatalf("thread page: status %d", first.StatusCode)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for b.Loop() {
		size = len(reader.get(path).Body)
	}
	b.ReportMetric(float64(size), "bytes/page")
	if f := os.Getenv("KIZUNA_DUMP_THREAD"); f != "" {
		os.WriteFile(f, []byte(reader.get(path).Body), 0o644)
	}
}
