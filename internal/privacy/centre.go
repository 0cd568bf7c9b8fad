package privacy

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// Centre is what a member's privacy centre shows them about themselves.
type Centre struct {
	Member accounts.Member
	// ProfileID is the member's customer profile, "" until the backbone made it (moments after
	// sign-up); the consent matrix is then empty, and the first consent saved makes it.
	ProfileID string
	// Matrix is May's answer for every channel and purpose, from the member's own records.
	Matrix consent.Matrix
	// Identities are the identifiers of the member's profile that are theirs to see (Visible):
	// email addresses, phone numbers, linked social accounts, membership numbers.
	Identities []identity.Identifier
	// Provisions are the records of the member's data provided to third parties (APPI Art. 33(5)).
	Provisions []consent.Provision
	// Requests are the member's own privacy requests, newest first.
	Requests []Request
	Settings Settings
}

// Visible reports whether an identifier of type t is one a member sees in their privacy
// centre: addresses and accounts they know as theirs (email, phone, social accounts, membership
// numbers), not the technical ids systems use to recognise them (user ids, browser ids, CRM
// record ids).
func Visible(t string) bool {
	switch {
	case t == "email", t == "phone", t == "member_id", t == "store_member":
		return true
	case strings.HasPrefix(t, "social:"):
		return true
	}
	return false
}

// Social reports whether an identifier of type t is a social account linked by log-in, which a
// member may unlink.
func Social(t string) bool { return strings.HasPrefix(t, "social:") }

// member returns the member p acts for through a session: only members look at their own
// privacy centre, and API keys are nobody's.
func (s *Service) member(ctx context.Context, p accounts.Principal) (accounts.Member, error) {
	if p.Anonymous() {
		return accounts.Member{}, errs.Unauthenticated("log in to see your privacy settings")
	}
	if p.MemberID == "" || p.APIKeyID != "" {
		return accounts.Member{}, errs.Forbidden("only a member has a privacy centre")
	}
	return s.acc.GetMember(ctx, p.MemberID)
}

// Centre returns p's privacy centre.
func (s *Service) Centre(ctx context.Context, p accounts.Principal) (Centre, error) {
	m, err := s.member(ctx, p)
	if err != nil {
		return Centre{}, err
	}
	c := Centre{Member: m, Matrix: consent.Matrix{Purposes: slices.Clone(consent.Purposes)}, Identities: []identity.Identifier{},
		Provisions: []consent.Provision{}}
	if c.Settings, err = s.Settings(ctx); err != nil {
		return Centre{}, err
	}
	if c.Requests, _, err = s.requests(ctx, Filter{MemberID: m.ID}, "", 20); err != nil {
		return Centre{}, err
	}
	pid, err := s.identity.Lookup(ctx, "user_id", m.ID)
	if errs.KindOf(err) == errs.KindNotFound {
		c.Identities = append(c.Identities, identity.Identifier{Type: "email", Value: m.Email, FirstSeen: m.CreatedAt})
		return c, nil
	}
	if err != nil {
		return Centre{}, err
	}
	root, err := s.identity.Root(ctx, pid)
	if err != nil {
		return Centre{}, err
	}
	c.ProfileID = root
	// The member is the system here: privacy decided they may see their own.
	sys := accounts.System()
	if c.Matrix, err = s.consent.Matrix(ctx, sys, root); err != nil {
		return Centre{}, err
	}
	ids, err := s.identity.Identifiers(ctx, root)
	if err != nil {
		return Centre{}, err
	}
	for _, it := range ids {
		if Visible(it.Type) {
			c.Identities = append(c.Identities, it)
		}
	}
	if !slices.ContainsFunc(c.Identities, func(it identity.Identifier) bool { return it.Type == "email" && it.Value == m.Email }) {
		c.Identities = append([]identity.Identifier{{Type: "email", Value: m.Email, FirstSeen: m.CreatedAt}}, c.Identities...)
	}
	if c.Provisions, err = s.consent.Provisions(ctx, sys, root); err != nil {
		return Centre{}, err
	}
	return c, nil
}

// ConsentChoice is one channel and purpose as a member left it in their privacy centre.
type ConsentChoice struct {
	Channel consent.Channel
	Purpose consent.Purpose
	OptIn   bool
}

// Client is the member's browser: the evidence of how they gave or withdrew consent.
type Client struct {
	IP        string
	UserAgent string
}

// SetConsents records p's choices from the privacy centre in the consent ledger, with source
// privacy_centre, the version of the wording they saw (textVersion), their IP address and user
// agent. Only changes are recorded: a box ticked that was not opted in becomes opted_in, a box
// cleared that was opted in becomes opted_out, and the rest stays as it was. The member's
// profile is made if the backbone has not made it yet. It returns the records added.
func (s *Service) SetConsents(ctx context.Context, p accounts.Principal, textVersion string, choices []ConsentChoice, c Client) ([]consent.Record, error) {
	m, err := s.member(ctx, p)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(textVersion) == "" {
		return nil, errs.Invalid("text_version", "is required: name the wording the member saw")
	}
	for i, ch := range choices {
		if _, err := consent.ParseChannel("channel", string(ch.Channel)); err != nil {
			return nil, err
		}
		pu, err := consent.ParsePurpose("purpose", string(ch.Purpose))
		if err != nil {
			return nil, err
		}
		choices[i].Purpose = pu
	}
	now := s.now()
	var out []consent.Record
	err = s.bb.Outbox().Tx(ctx, func(tx *sql.Tx) error {
		pid, err := s.identity.Resolve(ctx, tx, []identity.ID{{Type: "user_id", Value: m.ID}, {Type: "email", Value: m.Email}}, "privacy centre")
		if err != nil {
			return err
		}
		_, family, err := s.identity.RootFamily(ctx, tx, pid)
		if err != nil {
			return err
		}
		cur, err := s.consent.CurrentIn(ctx, tx, family)
		if err != nil {
			return err
		}
		current := map[[2]string]consent.Status{}
		for _, r := range cur {
			current[[2]string{string(r.Channel), string(r.Purpose)}] = r.Status
		}
		var ins []consent.Input
		for _, ch := range choices {
			was := current[[2]string{string(ch.Channel), string(ch.Purpose)}]
			st := consent.StatusOptedIn
			switch {
			case ch.OptIn && was == consent.StatusOptedIn:
				continue
			case !ch.OptIn && was != consent.StatusOptedIn:
				continue
			case !ch.OptIn:
				st = consent.StatusOptedOut
			}
			ins = append(ins, consent.Input{Channel: ch.Channel, Purpose: ch.Purpose, Status: st, Source: consent.SourcePrivacyCentre,
				TextVersion: textVersion, IP: c.IP, UserAgent: c.UserAgent})
		}
		if len(ins) == 0 {
			return nil
		}
		out, _, err = s.consent.Apply(ctx, tx, consent.Recording{Actor: m.ID, ProfileID: pid, Inputs: ins, Now: now,
			DefaultSource: consent.SourcePrivacyCentre})
		return err
	})
	if err != nil {
		var be *consent.BatchError
		if errors.As(err, &be) {
			return nil, be.Err
		}
		return nil, err
	}
	return out, nil
}
