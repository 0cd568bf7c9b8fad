package consent

import (
	"strings"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// Channel is a way of reaching a person.
type Channel string

// The channels.
const (
	ChannelEmail   Channel = "email"
	ChannelLINE    Channel = "line"
	ChannelWebPush Channel = "web_push"
	ChannelSMS     Channel = "sms"
	ChannelPhone   Channel = "phone"
	ChannelInApp   Channel = "in_app"
)

// Channels lists every channel in the order pages show them.
var Channels = []Channel{ChannelEmail, ChannelLINE, ChannelWebPush, ChannelSMS, ChannelPhone, ChannelInApp}

// ParseChannel reads a channel name, ignoring case and surrounding space. field names the input
// in the error.
func ParseChannel(field, s string) (Channel, error) {
	c := Channel(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Channels {
		if c == k {
			return c, nil
		}
	}
	if c == "" {
		return "", errs.Invalid(field, "is required (one of %s)", list(Channels))
	}
	return "", errs.Invalid(field, "%q is not a channel (use %s)", s, list(Channels))
}

// Purpose is what a message or a provision of data is for.
type Purpose string

// The purposes. Third-party provision has one purpose per named destination: see ThirdParty.
const (
	PurposeMarketing   Purpose = "marketing"    // advertising and promotions
	PurposeProductNews Purpose = "product_news" // news about products and features, newsletters
	PurposeResearch    Purpose = "research"     // surveys, interviews, beta and research invitations
	PurposeService     Purpose = "service"      // transactional: account, security, orders, replies
)

// Purposes lists the purposes that are not third-party provision, in the order pages show them.
var Purposes = []Purpose{PurposeMarketing, PurposeProductNews, PurposeResearch, PurposeService}

// thirdPartyPrefix starts the purpose of providing data to a named third party.
const thirdPartyPrefix = "third_party:"

// ThirdParty is the purpose of providing personal data to the named destination, such as "crm"
// or "ma" (APPI Art. 27 asks for consent per recipient). It does not check the name; ParsePurpose
// does.
func ThirdParty(destination string) Purpose {
	return Purpose(thirdPartyPrefix + strings.ToLower(strings.TrimSpace(destination)))
}

// Destination is the third party of a third-party purpose, or "" for any other purpose.
func (p Purpose) Destination() string {
	d, _ := strings.CutPrefix(string(p), thirdPartyPrefix)
	if d == string(p) {
		return ""
	}
	return d
}

// ThirdParty reports whether p is the provision of data to a third party.
func (p Purpose) ThirdParty() bool { return strings.HasPrefix(string(p), thirdPartyPrefix) }

// ParsePurpose reads a purpose: one of Purposes, or third_party:<destination> where the
// destination is 1 to 64 of a-z, 0-9, '_', '.' and '-', starting with a letter or digit.
func ParsePurpose(field, s string) (Purpose, error) {
	p := Purpose(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Purposes {
		if p == k {
			return p, nil
		}
	}
	if p.ThirdParty() {
		if !destinationName(p.Destination()) {
			return "", errs.Invalid(field, "%q: the destination after third_party: must be 1 to 64 of a-z, 0-9, _, . and -, such as third_party:crm", s)
		}
		return p, nil
	}
	if p == "" {
		return "", errs.Invalid(field, "is required (one of %s or third_party:<destination>)", list(Purposes))
	}
	return "", errs.Invalid(field, "%q is not a purpose (use %s or third_party:<destination>, such as third_party:crm)", s, list(Purposes))
}

func destinationName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Status is a person's answer for one channel and purpose.
type Status string

// The statuses. Unknown is a statement too: "we do not know any more" (a CRM that lost track, a
// consent wording that changed and must be asked again); it ends an earlier opt-in.
const (
	StatusOptedIn  Status = "opted_in"
	StatusOptedOut Status = "opted_out"
	StatusUnknown  Status = "unknown"
)

// Statuses lists every status.
var Statuses = []Status{StatusOptedIn, StatusOptedOut, StatusUnknown}

// ParseStatus reads a status.
func ParseStatus(field, s string) (Status, error) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Statuses {
		if st == k {
			return st, nil
		}
	}
	if st == "" {
		return "", errs.Invalid(field, "is required (one of %s)", list(Statuses))
	}
	return "", errs.Invalid(field, "%q is not a status (use %s)", s, list(Statuses))
}

// Source is where a consent record came from: the evidence of how it was obtained.
type Source string

// The sources.
const (
	SourceSignupForm       Source = "signup_form"       // the community's sign-up form
	SourcePrivacyCentre    Source = "privacy_centre"    // the member's privacy centre
	SourceImport           Source = "import"            // a file imported from a CRM
	SourceAPI              Source = "api"               // POST /api/v1/profiles/{id}/consents
	SourceLINEFollow       Source = "line_follow"       // the person added the LINE official account
	SourceLINEBlock        Source = "line_block"        // the person blocked the LINE official account
	SourceUnsubscribeLink  Source = "unsubscribe_link"  // a message's unsubscribe link or RFC 8058 one-click
	SourcePermissionScreen Source = "permission_screen" // the screen shown before linking a social login
	SourceStaff            Source = "staff"             // a staff member recorded what the person told them
)

// Sources lists every source.
var Sources = []Source{SourceSignupForm, SourcePrivacyCentre, SourceImport, SourceAPI, SourceLINEFollow, SourceLINEBlock,
	SourceUnsubscribeLink, SourcePermissionScreen, SourceStaff}

// showsText reports whether Kizuna itself showed the person a consent wording at this source, so
// an opt-in from it must say which version (特定電子メール法 Art. 3(2): keep proof of how consent
// was obtained).
func (s Source) showsText() bool {
	return s == SourceSignupForm || s == SourcePrivacyCentre || s == SourcePermissionScreen
}

// ParseSource reads a source; "" is def.
func ParseSource(field, s string, def Source) (Source, error) {
	src := Source(strings.ToLower(strings.TrimSpace(s)))
	if src == "" {
		return def, nil
	}
	for _, k := range Sources {
		if src == k {
			return src, nil
		}
	}
	return "", errs.Invalid(field, "%q is not a source (use %s)", s, list(Sources))
}

// SuppressionReason is why an address is on the suppression list.
type SuppressionReason string

// The suppression reasons.
const (
	SuppressHardBounce SuppressionReason = "hard_bounce" // the address does not exist or refuses mail for good
	SuppressComplaint  SuppressionReason = "complaint"   // the person marked a message as spam (feedback loop)
	SuppressErased     SuppressionReason = "erased"      // the person's data was erased at their request
	SuppressManual     SuppressionReason = "manual"      // staff blocked the address
)

// SuppressionReasons lists every suppression reason.
var SuppressionReasons = []SuppressionReason{SuppressHardBounce, SuppressComplaint, SuppressErased, SuppressManual}

// ParseSuppressionReason reads a suppression reason.
func ParseSuppressionReason(field, s string) (SuppressionReason, error) {
	r := SuppressionReason(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range SuppressionReasons {
		if r == k {
			return r, nil
		}
	}
	if r == "" {
		return "", errs.Invalid(field, "is required (one of %s)", list(SuppressionReasons))
	}
	return "", errs.Invalid(field, "%q is not a suppression reason (use %s)", s, list(SuppressionReasons))
}

// Basis is the legal ground on which personal data was provided to a third party (APPI Art. 27).
type Basis string

// The bases.
const (
	BasisConsent     Basis = "consent"     // the person consented (Art. 27(1))
	BasisEntrustment Basis = "entrustment" // 委託: a processor working for us (Art. 27(5)(i))
	BasisJointUse    Basis = "joint_use"   // 共同利用 announced beforehand (Art. 27(5)(iii))
	BasisSuccession  Basis = "succession"  // 事業承継: a merger or business transfer (Art. 27(5)(ii))
	BasisLaw         Basis = "law"         // 法令に基づく: required by law (Art. 27(1)(i)–(vii))
	BasisOptOut      Basis = "opt_out"     // オプトアウト: provision notified to the PPC (Art. 27(2))
)

// Bases lists every basis.
var Bases = []Basis{BasisConsent, BasisEntrustment, BasisJointUse, BasisSuccession, BasisLaw, BasisOptOut}

// ParseBasis reads a basis.
func ParseBasis(field, s string) (Basis, error) {
	b := Basis(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Bases {
		if b == k {
			return b, nil
		}
	}
	if b == "" {
		return "", errs.Invalid(field, "is required (one of %s)", list(Bases))
	}
	return "", errs.Invalid(field, "%q is not a basis (use %s)", s, list(Bases))
}

func list[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
