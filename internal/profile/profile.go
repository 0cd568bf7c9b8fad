// Package profile is the customer profile of the data hub: every event that resolves to a person
// (through the identity graph) lands on their profile, where it feeds the activity timeline,
// computed attributes (first and last seen, counts per event, last community activity) and traits
// with their source, time and history. Together with the CRM records this is the customer 360.
package profile

import (
	"embed"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/identity"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the profile tables. They need identity.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "profile", FS: sub}
}

// Deps are what profiles need.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Identity *identity.Graph
	CRM      *crm.Service
	Log      *slog.Logger     // discarded when nil
	Now      func() time.Time // time.Now when nil
}

// Service keeps profiles up to date from the event stream and reads them for staff.
type Service struct {
	db       *db.DB
	outbox   *backbone.Outbox
	identity *identity.Graph
	crm      *crm.Service
	log      *slog.Logger
	now      func() time.Time

	prepared sync.Once
	q        queries
}

// New returns the profile service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, identity: d.Identity, crm: d.CRM, log: d.Log, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// permRead is what reading customer profiles takes.
const permRead = accounts.PermViewMembers
