package consent

import (
	"context"
	"slices"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/identity"
)

// Reason says why May answered as it did.
type Reason string

// The reasons of a decision.
const (
	ReasonOptedIn       Reason = "opted_in"      // allowed: the person opted in
	ReasonTransactional Reason = "transactional" // allowed: a service message, which needs no opt-in
	ReasonNoConsent     Reason = "no_consent"    // refused: the purpose needs an opt-in and there is none (no record, or unknown)
	ReasonOptedOut      Reason = "opted_out"     // refused: the person opted out
	ReasonSuppressed    Reason = "suppressed"    // refused: the address is on the suppression list (see Suppression)
)

// Decision is May's answer.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  Reason `json:"reason"`
	// Status is the current status of the channel and purpose across the merge family, unknown
	// when nothing was recorded; Record is the record it comes from (nil when none).
	Status Status  `json:"status"`
	Record *Record `json:"record"`
	// Suppression is the reason of the suppression that refused, when Reason is suppressed.
	Suppression SuppressionReason `json:"suppression,omitempty"`
}

// May answers whether profileID may be contacted on channel for purpose now (for a
// third-party purpose: whether the channel's contact data may be provided to that destination),
// at address: the email address, phone number, LINE user id, push endpoint or user id the sender
// is about to use. With address "" the suppression list is checked for every address of the
// channel the profile holds (its emails, phones, LINE ids or user ids; a push endpoint is not an
// identifier and must be given). The rules are in the package comment. Every sender calls it
// right before sending and records the reason of every refusal; a wrong channel, purpose or
// address is an errs.Invalid naming it, an unknown profile errs.NotFound.
func (l *Ledger) May(ctx context.Context, profileID string, channel Channel, purpose Purpose, address string) (Decision, error) {
	ch, err := ParseChannel("channel", string(channel))
	if err != nil {
		return Decision{}, err
	}
	pu, err := ParsePurpose("purpose", string(purpose))
	if err != nil {
		return Decision{}, err
	}
	root, family, err := l.family(ctx, profileID)
	if err != nil {
		return Decision{}, err
	}
	var addrs []string
	if strings.TrimSpace(address) != "" {
		a, err := normaliseAddress(ch, "address", address)
		if err != nil {
			return Decision{}, err
		}
		addrs = []string{a}
	} else if addrs, err = l.addressesOf(ctx, root, ch); err != nil {
		return Decision{}, err
	}
	reasons, err := l.suppressedFor(ctx, ch, addrs)
	if err != nil {
		return Decision{}, err
	}
	rec, err := l.latest(ctx, l.db.R, family, ch, pu)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Status: StatusUnknown, Record: rec}
	if rec != nil {
		d.Status = rec.Status
	}
	return decide(pu, d, reasons), nil
}

// decide applies the rules of the package comment to the current status in d and the
// suppression reasons of the address.
func decide(pu Purpose, d Decision, suppressed []SuppressionReason) Decision {
	// The most severe reason speaks first.
	for _, r := range []SuppressionReason{SuppressErased, SuppressHardBounce, SuppressManual, SuppressComplaint} {
		if slices.Contains(suppressed, r) && blocks(r, pu) {
			d.Allowed, d.Reason, d.Suppression = false, ReasonSuppressed, r
			return d
		}
	}
	switch {
	case d.Status == StatusOptedOut:
		d.Allowed, d.Reason = false, ReasonOptedOut
	case pu == PurposeService:
		d.Allowed, d.Reason = true, ReasonTransactional
	case d.Status == StatusOptedIn:
		d.Allowed, d.Reason = true, ReasonOptedIn
	default:
		d.Allowed, d.Reason = false, ReasonNoConsent
	}
	return d
}

// blocks reports whether an address suppressed for reason r may not be used for purpose pu.
func blocks(r SuppressionReason, pu Purpose) bool {
	switch r {
	case SuppressErased:
		return true
	case SuppressHardBounce, SuppressManual:
		return !pu.ThirdParty()
	case SuppressComplaint:
		return !pu.ThirdParty() && pu != PurposeService
	}
	return true // a reason this code does not know: refuse rather than send
}

// identifierTypes are the identity graph types that hold a channel's addresses. A type also
// matches itself with a provider suffix ("social:line.1234", "social:line-jp"): LINE user ids are
// scoped to the LINE provider.
var identifierTypes = map[Channel][]string{
	ChannelEmail: {"email"},
	ChannelSMS:   {"phone"},
	ChannelPhone: {"phone"},
	ChannelLINE:  {"social:line"},
	ChannelInApp: {"user_id"},
}

// addressesOf returns the addresses of channel ch that the profile root holds, normalised.
func (l *Ledger) addressesOf(ctx context.Context, root string, ch Channel) ([]string, error) {
	types := identifierTypes[ch]
	if len(types) == 0 {
		return nil, nil
	}
	ids, err := l.identity.Identifiers(ctx, root)
	if err != nil {
		return nil, err
	}
	return channelAddresses(ch, ids), nil
}

// channelAddresses picks the addresses of channel ch out of a profile's identifiers.
func channelAddresses(ch Channel, ids []identity.Identifier) []string {
	var out []string
	for _, it := range ids {
		for _, t := range identifierTypes[ch] {
			if it.Type == t || strings.HasPrefix(it.Type, t+".") || strings.HasPrefix(it.Type, t+"-") || strings.HasPrefix(it.Type, t+"_") {
				out = append(out, it.Value)
			}
		}
	}
	return out
}

// Matrix is every channel × purpose of one person at a glance: the decision May would give now
// for each (with the profile's own addresses), for the staff's customer 360.
type Matrix struct {
	// Purposes are the columns: Purposes, then the third parties that appear in the person's
	// records, by name.
	Purposes []Purpose   `json:"purposes"`
	Rows     []MatrixRow `json:"rows"`
	// Suppressions are the suppression list's entries for the person's addresses.
	Suppressions []Suppression `json:"suppressions"`
}

// MatrixRow is one channel of a Matrix.
type MatrixRow struct {
	Channel Channel    `json:"channel"`
	Cells   []Decision `json:"cells"` // one per Matrix.Purposes
}

// Matrix returns profileID's matrix for p (accounts.PermViewMembers): the same rules as May,
// applied to the current records of the merge family and the suppression entries of the
// profile's addresses (push endpoints, which are no identifiers, are not known here).
func (l *Ledger) Matrix(ctx context.Context, p accounts.Principal, profileID string) (Matrix, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Matrix{}, err
	}
	root, family, err := l.family(ctx, profileID)
	if err != nil {
		return Matrix{}, err
	}
	cur, err := l.current(ctx, l.db.R, family)
	if err != nil {
		return Matrix{}, err
	}
	m := Matrix{Purposes: slices.Clone(Purposes)}
	for _, r := range cur {
		if r.Purpose.ThirdParty() && !slices.Contains(m.Purposes, r.Purpose) {
			m.Purposes = append(m.Purposes, r.Purpose)
		}
	}
	slices.SortStableFunc(m.Purposes, comparePurposes)
	if m.Suppressions, err = l.SuppressionsOf(ctx, p, root); err != nil {
		return Matrix{}, err
	}
	for _, ch := range Channels {
		var reasons []SuppressionReason
		for _, s := range m.Suppressions {
			if s.Channel == ch {
				reasons = append(reasons, s.Reason)
			}
		}
		row := MatrixRow{Channel: ch, Cells: make([]Decision, len(m.Purposes))}
		for i, pu := range m.Purposes {
			d := Decision{Status: StatusUnknown}
			for j := range cur {
				if cur[j].Channel == ch && cur[j].Purpose == pu {
					d.Status, d.Record = cur[j].Status, &cur[j]
					break
				}
			}
			row.Cells[i] = decide(pu, d, reasons)
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}
