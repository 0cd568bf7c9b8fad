// Package meetup is community events: online and offline meetups and webinars in a space, RSVPs
// with a capacity and a waitlist, check-in by code or by staff, and calendar files. An event
// follows its space's visibility. Every change commits together with its event (Event Created,
// Event RSVP Changed, Event Attended …), its search document and its notifications.
package meetup

import (
	"context"
	"crypto/rand"
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/markdown"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/search"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the meetup tables. They refer to the community's spaces, so they run after
// community.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "meetup", FS: sub}
}

// Deps are what the meetup part needs.
type Deps struct {
	DB        *db.DB
	Outbox    *backbone.Outbox
	Accounts  *accounts.Service
	Community *community.Service
	Notify    *notify.Service
	Search    *search.Index
	Markdown  *markdown.Renderer
	Log       *slog.Logger
	Now       func() time.Time // time.Now when nil
}

// Service is the meetup part.
type Service struct {
	db        *db.DB
	outbox    *backbone.Outbox
	acc       *accounts.Service
	community *community.Service
	notify    *notify.Service
	search    *search.Index
	md        *markdown.Renderer
	log       *slog.Logger
	now       func() time.Time
}

// New returns the meetup service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, acc: d.Accounts, community: d.Community, notify: d.Notify, search: d.Search,
		md: d.Markdown, log: d.Log, now: d.Now}
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

// canManage reports whether p runs events in sp: community staff and the space's moderators.
func canManage(p accounts.Principal, sp community.Space) bool {
	return accounts.Allowed(p, accounts.PermManageCommunity) || sp.Role == community.SpaceModerator
}

// attendee returns the active member p acts as, for RSVPs and check-ins, which only members make.
func (s *Service) attendee(ctx context.Context, p accounts.Principal) (accounts.Member, error) {
	if p.Anonymous() {
		return accounts.Member{}, errs.Unauthenticated("log in to take part in events")
	}
	if p.MemberID == "" {
		return accounts.Member{}, errs.Forbidden("only members RSVP and check in")
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

// codeAlphabet leaves out letters and digits people mistake for each other (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

const codeLength = 6

// newCheckInCode returns a random code members type to check in.
func newCheckInCode() string {
	b := make([]byte, codeLength)
	out := make([]byte, codeLength)
	for i := 0; i < codeLength; {
		rand.Read(b)
		for _, c := range b {
			// Rejection sampling keeps every letter equally likely (256 is not a multiple of 31).
			if int(c) >= 256/len(codeAlphabet)*len(codeAlphabet) || i == codeLength {
				continue
			}
			out[i] = codeAlphabet[int(c)%len(codeAlphabet)]
			i++
		}
	}
	return string(out)
}
