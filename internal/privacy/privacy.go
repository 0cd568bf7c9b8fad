// Package privacy carries out what people ask of their personal data: a copy of it (export), its
// erasure, and — through the member's privacy centre — their consents and linked identities.
// Members ask for themselves; staff and the API ask on a person's behalf, with the legal regime
// and its deadline tracked (GDPR one month, APPI without delay), and every export and erasure is
// in the audit log.
//
// # Parts
//
// The privacy part owns no personal data itself. Every part that keeps some implements
// dsr.Part: it exports its own tables about a subject and erases them in its own transaction
// step. The composition root hands the parts over in the order erasures run them (the accounts
// part last, after every other part has repointed its rows to the tombstone).
//
// # Erasure
//
// An erasure request closes the person's accounts at once (accounts.BeginErasure: no log-in, no
// sessions) and puts an Erasure Requested event (no personal data: the request id) on the
// backbone. The privacy consumer takes it from the stream, waits until every other consumer has
// handled the events before it — so nothing the person did is still on its way to the event log
// or a profile — and then erases:
//
//   - the event log first (its own database on SQLite), then, in one transaction of the main
//     database, every part's data, the person's tombstone (an opaque id and the time: the
//     privacy_tombstones row, and for members an account row with no personal data that what
//     stays of their activity points to), the hashes of their user ids and anonymous ids (the
//     tracking API drops events that still carry them), the request marked completed, the audit
//     entry, and Erasure Completed through the outbox, with the request and tombstone ids and
//     SHA-256 hashes of the erased profile ids and user ids, so connectors can propagate the
//     erasure to systems that know the person by one of them without the event naming anyone;
//   - what the person wrote is anonymised (kept under the tombstone, shown as a former member)
//     or removed, as the community's policy (Settings.ErasedContent) says;
//   - their addresses go on the suppression list as erased, which keeps only their hashes.
//
// See docs/privacy.md for what each part keeps and why.
package privacy

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the privacy tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "privacy", FS: sub}
}

// Deps are what the privacy part needs.
type Deps struct {
	DB       *db.DB
	Backbone *backbone.Backbone // the outbox, the event log, and waiting for the other consumers
	Accounts *accounts.Service
	Identity *identity.Graph
	Consent  *consent.Ledger // the member's consents in the privacy centre
	// Parts are every part that keeps personal data, in the order an erasure runs them; the
	// accounts part comes last.
	Parts []dsr.Part
	Log   *slog.Logger     // discarded when nil
	Now   func() time.Time // time.Now when nil
}

// Service is the privacy part.
type Service struct {
	db       *db.DB
	bb       *backbone.Backbone
	acc      *accounts.Service
	identity *identity.Graph
	consent  *consent.Ledger
	parts    []dsr.Part
	log      *slog.Logger
	now      func() time.Time
}

// New returns the privacy part.
func New(d Deps) *Service {
	s := &Service{db: d.DB, bb: d.Backbone, acc: d.Accounts, identity: d.Identity, consent: d.Consent, parts: d.Parts, log: d.Log, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// The permissions the privacy part checks for staff and API keys. A member needs none to ask
// about their own data.
const (
	permView = accounts.PermViewMembers   // see requests and their deadlines
	permAct  = accounts.PermManageMembers // export or erase someone's data, decline a request
)

// actorID is the anonymousId of the privacy part's events.
const actorID = "kizuna:privacy"

// ErasedContent is the community's policy for what an erased member wrote.
type ErasedContent string

// The policies.
const (
	// ContentAnonymise keeps posts and replies under the tombstone, shown as a former member:
	// the answers others rely on stay. The default.
	ContentAnonymise ErasedContent = "anonymise"
	// ContentRemove removes posts and replies, with the replies under their posts.
	ContentRemove ErasedContent = "remove"
)

// Settings are the community's privacy settings.
type Settings struct {
	ErasedContent ErasedContent `json:"erased_content"`
	// DefaultRegime is the regime of requests members make in the privacy centre and the
	// default of staff's requests.
	DefaultRegime Regime `json:"default_regime"`
}

// DefaultSettings are the settings until an administrator changes them.
func DefaultSettings() Settings {
	return Settings{ErasedContent: ContentAnonymise, DefaultRegime: RegimeAPPI}
}

// Settings returns the community's privacy settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	return s.settings(ctx, s.db.R)
}

func (s *Service) settings(ctx context.Context, q db.Queryer) (Settings, error) {
	set := DefaultSettings()
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM privacy_settings`)
	if err != nil {
		return set, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return set, err
		}
		switch k {
		case "erased_content":
			if c := ErasedContent(v); c == ContentAnonymise || c == ContentRemove {
				set.ErasedContent = c
			}
		case "default_regime":
			if r, err := ParseRegime("default_regime", v); err == nil {
				set.DefaultRegime = r
			}
		}
	}
	return set, rows.Err()
}

// SetSettings changes the privacy settings for p, who needs accounts.PermManageSettings; audited.
func (s *Service) SetSettings(ctx context.Context, p accounts.Principal, in Settings) (Settings, error) {
	if err := accounts.Authorize(p, accounts.PermManageSettings); err != nil {
		return Settings{}, err
	}
	if in.ErasedContent != ContentAnonymise && in.ErasedContent != ContentRemove {
		return Settings{}, errs.Invalid("erased_content", "%q is not a policy (use anonymise or remove)", in.ErasedContent)
	}
	r, err := ParseRegime("default_regime", string(in.DefaultRegime))
	if err != nil {
		return Settings{}, err
	}
	in.DefaultRegime = r
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for k, v := range map[string]string{"erased_content": string(in.ErasedContent), "default_regime": string(in.DefaultRegime)} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_settings (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return err
			}
		}
		return s.acc.Audit(ctx, tx, p, "privacy.settings_changed", "privacy",
			map[string]any{"erased_content": in.ErasedContent, "default_regime": in.DefaultRegime})
	})
	return in, err
}
