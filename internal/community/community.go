// Package community is the place members come to: spaces, posts and comments, Q&A with accepted
// answers, the idea board, reactions, @mentions and profiles. Every change commits together with
// its event (Post Created, Answer Accepted, Idea Voted …), its search document and its
// notifications, in one transaction.
package community

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/markdown"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the community tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "community", FS: sub}
}

// Deps are what the community needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Accounts *accounts.Service
	Notify   *notify.Service
	Search   *search.Index
	Markdown *markdown.Renderer
	Events   Appender // where reading events go; none are recorded when nil
	Log      *slog.Logger
	Now      func() time.Time // time.Now when nil
}

// Service is the community part.
type Service struct {
	db      *db.DB
	outbox  *backbone.Outbox
	acc     *accounts.Service
	notify  *notify.Service
	search  *search.Index
	md      *markdown.Renderer
	events  Appender
	log     *slog.Logger
	now     func() time.Time
	threads *threadCache
}

// New returns the community service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, acc: d.Accounts, notify: d.Notify, search: d.Search, md: d.Markdown, events: d.Events, log: d.Log, now: d.Now,
		threads: newThreadCache(threadCacheSize, threadCacheTTL)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.md == nil {
		s.md = markdown.New()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Markdown is the renderer the community uses for what members write.
func (s *Service) Markdown() *markdown.Renderer { return s.md }

// actor returns the member a principal acts as: itself, or, for an admin-scoped API key importing
// content, the member named by authorID.
func (s *Service) actor(ctx context.Context, p accounts.Principal, authorID string) (accounts.Member, error) {
	if authorID != "" {
		if err := accounts.Authorize(p, accounts.PermActAsMember); err != nil {
			return accounts.Member{}, err
		}
		m, err := s.acc.GetMember(ctx, authorID)
		if errs.KindOf(err) == errs.KindNotFound {
			return m, errs.Invalid("author_id", "no member with id %s", authorID)
		}
		return m, err
	}
	if p.MemberID == "" {
		if p.Anonymous() {
			return accounts.Member{}, errs.Unauthenticated("log in to take part")
		}
		return accounts.Member{}, errs.Invalid("author_id", "an API key must say on whose behalf it writes: give author_id")
	}
	m, err := s.acc.GetMember(ctx, p.MemberID)
	if err != nil {
		return m, err
	}
	if m.Status != "active" {
		return m, errs.Because(errs.Forbidden("this account is suspended"), "suspended")
	}
	return m, nil
}
