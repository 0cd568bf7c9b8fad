package community

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/id"
)

// LoadOptions size the data that SeedLoad writes.
type LoadOptions struct {
	Spaces   int // spaces the posts are spread over
	Members  int // authors
	Posts    int
	Comments int // in all; the first post gets ThreadSize of them
	// ThreadSize is the number of replies on the one thread a benchmark reads.
	ThreadSize int
}

// LoadData says where the seeded data is, for the load tool to request.
type LoadData struct {
	SpaceSlug string // the space a topic-list benchmark reads
	ThreadID  string // a post with ThreadSize replies
}

// loadBodies are the texts seeded posts and replies cycle through.
var loadBodies = []string{
	"管理画面からCSVを書き出す方法を教えてください。**設定 → エクスポート** を開いても項目が見つかりません。バージョンは 4.2 です。",
	"We upgraded to the new plan last week and the SSO login started failing for some users. Has anyone seen `invalid_grant` errors?",
	"東京都内でユーザー会を開催します。テーマは「データ活用の第一歩」。登壇者を募集中です！\n\n- 日時: 12月10日 19:00\n- 場所: 渋谷",
	"ダッシュボードの読み込みが遅いときは、キャッシュを削除してから再読み込みすると改善することがあります。",
	"Thanks, that fixed it! For anyone else: the redirect URI must match exactly, including the trailing slash.",
}

// SeedLoad writes a large community for load tests straight into the tables in big batches:
// members (through accounts), spaces, posts and replies. It bypasses events, search and
// notifications on purpose: it is a benchmark fixture, not community activity.
func (s *Service) SeedLoad(ctx context.Context, opts LoadOptions) (LoadData, error) {
	now := s.now()
	var authors []string
	for i := range opts.Members {
		m, err := s.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{
			Email: fmt.Sprintf("load%05d@load.kizuna.example", i), Password: "load-test-password", DisplayName: fmt.Sprintf("負荷テスト %d", i)}, accounts.RoleMember)
		if err != nil {
			return LoadData{}, fmt.Errorf("load member %d: %w", i, err)
		}
		authors = append(authors, m.ID)
	}
	var data LoadData
	spaceIDs := make([]string, opts.Spaces)
	for i := range spaceIDs {
		slug := fmt.Sprintf("load-%d", i+1)
		sp, err := s.CreateSpace(ctx, accounts.System(), SpaceInput{Slug: slug, Name: fmt.Sprintf("負荷テスト %d", i+1), Visibility: Public})
		if err != nil {
			return LoadData{}, err
		}
		spaceIDs[i] = sp.ID
		if i == 0 {
			data.SpaceSlug = slug
		}
	}
	html := make([]string, len(loadBodies))
	for i, b := range loadBodies {
		html[i] = s.md.HTML(b)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := now.Add(-365 * 24 * time.Hour)
	postIDs := make([]string, opts.Posts)
	const batch = 500
	const postCols = 11
	err := s.inBatches(ctx, opts.Posts, batch, func(tx *sql.Tx, lo, hi int) error {
		args := make([]any, 0, (hi-lo)*postCols)
		for i := lo; i < hi; i++ {
			at := start.Add(time.Duration(i) * (365 * 24 * time.Hour) / time.Duration(max(opts.Posts, 1)))
			postIDs[i] = id.New(at)
			kind := []Kind{Discussion, Question, Question, Idea}[i%4]
			n := rng.IntN(len(loadBodies))
			args = append(args, postIDs[i], spaceIDs[i%len(spaceIDs)], authors[rng.IntN(len(authors))], kind,
				fmt.Sprintf("%s #%d", []string{"CSVの書き出しについて", "SSO login fails", "ユーザー会のお知らせ", "ダッシュボードが遅い"}[i%4], i),
				loadBodies[n], html[n], map[bool]string{true: IdeaNew}[kind == Idea], db.Now(at), db.Now(at), db.Now(at))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO posts (id, space_id, author_id, kind, title, body, body_html, status, last_activity_at, created_at, updated_at) VALUES `+
			s.db.Engine.Values(hi-lo, postCols), args...)
		return err
	})
	if err != nil || opts.Posts == 0 {
		return data, err
	}
	// The thread a benchmark reads is the newest post of the first space, so it is also on the
	// first page of that space's topic list.
	newest := opts.Posts - 1
	for newest%len(spaceIDs) != 0 {
		newest--
	}
	data.ThreadID = postIDs[newest]
	const commentCols = 7
	err = s.inBatches(ctx, opts.Comments, batch, func(tx *sql.Tx, lo, hi int) error {
		args := make([]any, 0, (hi-lo)*commentCols)
		for i := lo; i < hi; i++ {
			post := data.ThreadID
			if i >= opts.ThreadSize {
				// Any other post: the measured thread keeps exactly ThreadSize replies.
				if k := rng.IntN(len(postIDs)); k != newest || len(postIDs) == 1 {
					post = postIDs[k]
				} else {
					post = postIDs[(k+1)%len(postIDs)]
				}
			}
			at := now.Add(-time.Duration(opts.Comments-i) * time.Second)
			n := rng.IntN(len(loadBodies))
			args = append(args, id.New(at), post, authors[rng.IntN(len(authors))], loadBodies[n], html[n], db.Now(at), db.Now(at))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO comments (id, post_id, author_id, body, body_html, created_at, updated_at) VALUES `+
			s.db.Engine.Values(hi-lo, commentCols), args...)
		return err
	})
	if err != nil {
		return data, err
	}
	_, err = s.db.W.ExecContext(ctx, `UPDATE posts SET comment_count = (SELECT count(*) FROM comments c WHERE c.post_id = posts.id)
		WHERE id IN (SELECT DISTINCT post_id FROM comments)`)
	return data, err
}

// inBatches runs fn over [0, n) in slices of size, committing every 40 slices.
func (s *Service) inBatches(ctx context.Context, n, size int, fn func(tx *sql.Tx, lo, hi int) error) error {
	for lo := 0; lo < n; {
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			for range 40 {
				if lo >= n {
					return nil
				}
				hi := min(lo+size, n)
				if err := fn(tx, lo, hi); err != nil {
					return err
				}
				lo = hi
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
