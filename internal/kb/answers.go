package kb

import (
	"context"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// ArticleFromAnswer makes an article, draft or published, from a reply to a post: "this answer
// became an article". commentID empty means the post's accepted answer. The title defaults to the
// post's title and the body to the answer's text; the article records both, and readers of the
// post find it with ArticlesForPost. p must be allowed to write the knowledge base and to see the
// post; staff decide whether an answer from a private space belongs in the public knowledge base.
func (s *Service) ArticleFromAnswer(ctx context.Context, p accounts.Principal, postID, commentID string, in ArticleInput) (Article, error) {
	if err := accounts.Authorize(p, accounts.PermManageCommunity); err != nil {
		return Article{}, err
	}
	post, err := s.community.Post(ctx, p, postID)
	if err != nil {
		return Article{}, err
	}
	if commentID == "" {
		if commentID = post.AcceptedCommentID; commentID == "" {
			return Article{}, errs.Because(errs.Invalid("comment_id", "this post has no accepted answer: choose a reply"), "no_accepted_answer")
		}
	}
	c, err := s.reply(ctx, p, post.ID, commentID)
	if err != nil {
		return Article{}, err
	}
	if in.Title == "" {
		in.Title = post.Title
	}
	if in.Body == "" {
		in.Body = c.Body
	}
	if err := in.check(); err != nil {
		return Article{}, err
	}
	return s.create(ctx, p, in, source{postID: post.ID, commentID: c.ID, spaceID: post.SpaceID, answererID: c.Author.ID,
		accepted: c.ID == post.AcceptedCommentID})
}

// reply finds the visible reply commentID among the replies to postID that p may read.
func (s *Service) reply(ctx context.Context, p accounts.Principal, postID, commentID string) (community.Comment, error) {
	const page = 500
	for after := ""; ; {
		cs, next, err := s.community.Comments(ctx, p, postID, after, page)
		if err != nil {
			return community.Comment{}, err
		}
		for _, c := range cs {
			if c.ID == commentID && !c.Hidden {
				return c, nil
			}
			if c.ID > commentID { // replies come in id order: it is not there
				next = ""
				break
			}
		}
		if next == "" {
			return community.Comment{}, errs.Because(errs.Invalid("comment_id", "no reply %s on this post", commentID), "comment_not_on_post")
		}
		after = next
	}
}

// ArticlesForPost lists the articles made from a post's replies that p may read: published ones,
// and drafts too for staff who write the knowledge base. A post p may not see has none.
func (s *Service) ArticlesForPost(ctx context.Context, p accounts.Principal, postID string) ([]Article, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+articleCols+` FROM kb_articles WHERE source_post_id = $1 AND published >= $2 ORDER BY id`,
		postID, 1-db.Bool(staff(p)))
	if err != nil {
		return nil, err
	}
	arts, err := scanArticles(rows)
	if err != nil || len(arts) == 0 {
		return arts, err // most posts have none: no need to check the post
	}
	if _, err := s.community.Post(ctx, p, postID); err != nil {
		return nil, err
	}
	return arts, nil
}
