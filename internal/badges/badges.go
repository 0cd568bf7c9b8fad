// Package badges is reputation made visible: badges members earn by rules over what they did in
// the community (points, accepted answers, how early they joined) or receive from staff, and the
// per-space expert lists built on them. Awards are unique per badge, member and space, so rules
// can be evaluated again and again; every award and revocation commits with its event (Badge
// Awarded, Badge Revoked) and, when staff did it, its audit record.
package badges

import (
	"embed"
	"io/fs"
	"regexp"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the badge tables and the built-in badges. Rules read the community's profiles,
// posts and comments, so they run after community.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "badges", FS: sub}
}

// Deps are what the badges part needs. There is no notification: notify has no type for a badge,
// and the member sees new badges on their profile.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Accounts *accounts.Service
	Now      func() time.Time // time.Now when nil
}

// Service is the badges part.
type Service struct {
	db     *db.DB
	outbox *backbone.Outbox
	acc    *accounts.Service
	now    func() time.Time
}

// New returns the badges service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, acc: d.Accounts, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
