// Package consent is the consent ledger of the customer data hub: what each person agreed to
// per channel (email, LINE, web push, SMS, phone, in-app) and purpose (marketing, product news,
// research, service, and third-party provision to a named destination), with the evidence of
// how; a global suppression list; the records of personal data provided to third parties
// (APPI Art. 29); and May, the one answer every sender asks before contacting someone.
//
// # The ledger
//
// Consent records are appended, never changed: each says that a profile's status for one
// channel and purpose became opted_in, opted_out or unknown at a time (recorded_at, when the
// person said it), from a source (sign-up form, privacy centre, import, API, LINE follow or
// block, unsubscribe link, permission screen, staff), with the version of the wording shown, the
// IP address and user agent when the person acted themselves, and who recorded it. The current
// status of a channel and purpose is the record with the latest recorded_at across the
// profile's merge family (identity.Graph.Family), the later-stored one on a tie: an old opt-in
// imported today does not undo last month's opt-out. Records stay under the profile they were
// recorded for, so undoing a merge gives each side its own answers back. Every record that
// changes a current status emits Consent Updated through the outbox in the same transaction.
//
// # The decision
//
// May(profile, channel, purpose, address) applies these rules, first match wins:
//
//  1. Suppression of the address on that channel (the address given, or every address of the
//     channel the profile holds when none is given; a push endpoint is no identifier, so web push
//     must give it). Erased blocks everything, third-party
//     provision included: the person asked to be forgotten, so nothing about them goes anywhere.
//     Hard_bounce and manual block every message, service ones too (the address does not work,
//     or staff decided it must not be used), but not third-party provision, which sends no
//     message. Complaint blocks marketing, product news and research, but not service messages
//     or third-party provision: a spam report objects to the mail the person did not want, and a
//     password reset or an order confirmation must still reach them.
//  2. Marketing, product news and research need an explicit opt_in as the current status, on
//     every channel: 特定電子メール法 Art. 3 (prior opt-in for advertising mail and SMS), the
//     ePrivacy Directive Art. 13, and the TCPA for SMS. LINE is outside the Japanese act, but its
//     follow is itself an opt-in (recorded as line_follow) and a block an opt-out; in-app and web
//     push are held to the same rule so that one consent screen governs every channel. Research
//     invitations are treated like marketing: surveys often carry incentives, and a separate
//     purpose lets people say yes to research and no to advertising. No record, or unknown, is
//     no consent; opted_out is an opt-out (Art. 3(3): stop once told).
//  3. Third-party provision (third_party:<destination>) needs an explicit opt_in for that
//     destination (APPI Art. 27). The channel names the contact point whose data is provided (the
//     email address given to the MA tool so that it can send mail); a connector checks each
//     contact point it sends.
//  4. Service (transactional) messages need no consent record: they are not advertising mail
//     (特定電子メール法 does not cover them) and are part of the service the person asked for. An
//     explicit opted_out on a channel's service purpose is honoured (a LINE block, "never text
//     me"): the sender must use another channel.
//
// # Suppression
//
// The suppression list holds (channel, address, reason) entries. Addresses are normalised as the
// identity graph does (emails lower-cased and NFKC, phones in E.164) and looked up by a SHA-256
// of channel and address; an erased entry keeps only that hash, and adding one blanks the stored
// address of the other entries for it, so the list never keeps an erased person's address in
// clear while still stopping every later send to it.
//
// Permissions: recording consents and removing suppressions needs accounts.PermManageMembers
// (admins, API keys with the admin scope), as writing CRM records does; adding suppressions
// needs accounts.PermManageMarketing (marketers); reading needs accounts.PermViewMembers. May and
// RecordProvision take no principal: senders and connectors are the system.
package consent

import (
	"embed"
	"io/fs"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/identity"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the consent tables. They need identity.Migrations and backbone.Migrations.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "consent", FS: sub}
}

// Deps are what the ledger needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Identity *identity.Graph
	// Accounts, when set, receives an audit log entry for every suppression added or removed.
	Accounts *accounts.Service
	Now      func() time.Time // time.Now when nil
}

// Ledger is the consent part.
type Ledger struct {
	db       *db.DB
	outbox   *backbone.Outbox
	identity *identity.Graph
	acc      *accounts.Service
	now      func() time.Time
}

// New returns the ledger.
func New(d Deps) *Ledger {
	l := &Ledger{db: d.DB, outbox: d.Outbox, identity: d.Identity, acc: d.Accounts, now: d.Now}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// The permissions the consent part checks.
const (
	permWrite    = accounts.PermManageMembers
	permSuppress = accounts.PermManageMarketing
	permRead     = accounts.PermViewMembers
)

// anonymousID is the anonymousId of the events about a person's consent: the ledger, not whoever
// recorded it, is the source; the event carries the person's profileId.
const anonymousID = "kizuna:consent"
