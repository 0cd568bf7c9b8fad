// Package kb is the knowledge base: staff-written articles (FAQ, how-tos) in categories, drafts
// and published articles, view counts, and articles grown from an accepted answer in the
// community, linked back so that readers of the question find them. Every change commits together
// with its event (Article Published, Article Updated, Article Created From Answer …), its search
// document and its audit record, in one transaction.
package kb

import (
	"embed"
	"io/fs"
	"regexp"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/markdown"
	"github.com/kizuna-community/kizuna/internal/search"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the knowledge base tables. Articles refer to the community's posts and
// comments, so they run after community.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "kb", FS: sub}
}

// Deps are what the knowledge base needs.
type Deps struct {
	DB        *db.DB
	Outbox    *backbone.Outbox
	Accounts  *accounts.Service
	Community *community.Service // reads the question and answer an article is made from
	Search    *search.Index      // may be nil: nothing is indexed
	Markdown  *markdown.Renderer // markdown.New() when nil
	Now       func() time.Time   // time.Now when nil
}

// Service is the knowledge base part.
type Service struct {
	db        *db.DB
	outbox    *backbone.Outbox
	acc       *accounts.Service
	community *community.Service
	search    *search.Index
	md        *markdown.Renderer
	now       func() time.Time
}

// New returns the knowledge base service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, acc: d.Accounts, community: d.Community, search: d.Search, md: d.Markdown, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.md == nil {
		s.md = markdown.New()
	}
	return s
}

// staff reports whether p writes the knowledge base, and so sees drafts.
func staff(p accounts.Principal) bool { return accounts.Allowed(p, accounts.PermManageCommunity) }

// slugRe is what slugs of categories and articles look like: they appear in URLs.
var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// nullable stores "" as NULL, for optional references.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
