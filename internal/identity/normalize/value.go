package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// Type is an identifier type. A type may be scoped to a system or provider with a colon, as in
// "crm:salesforce" or "social:line"; Type holds the part before the colon.
type Type string

// The identifier types the identity graph knows. Other names are accepted as custom types and
// normalised as opaque ids. The constants carry a Type prefix because Email and Phone name the
// functions that normalise those values.
const (
	TypeEmail       Type = "email"        // an email address
	TypePhone       Type = "phone"        // a phone number, stored in E.164
	TypeUserID      Type = "user_id"      // the id a source system gives a known user
	TypeAnonymousID Type = "anonymous_id" // a device or browser id from tracking
	TypeMemberID    Type = "member_id"    // a membership or loyalty number
	TypeCRM         Type = "crm"          // a CRM record id; needs a system, e.g. "crm:salesforce"
	TypeStoreMember Type = "store_member" // a member number issued by a physical store
	TypeSocial      Type = "social"       // a social account id; needs a provider, e.g. "social:line"
)

// MaxIDLength is the longest opaque identifier, in characters, that Value accepts.
const MaxIDLength = 255

// ParseType splits an identifier type such as "crm:salesforce" into its base type and system,
// after lower-casing both. Base types are [a-z][a-z0-9_]*, systems [a-z0-9][a-z0-9_.-]*, each at
// most 64 bytes. TypeCRM and TypeSocial need a system; TypeEmail, TypePhone, TypeUserID and
// TypeAnonymousID take none (a user id is already scoped to the workspace that sends it).
func ParseType(t string) (base Type, system string, err error) {
	s := strings.ToLower(Text(t))
	b, sys, scoped := strings.Cut(s, ":")
	if !validName(b, false) {
		return "", "", errs.Invalid("type", "identifier type %q is not a name like \"email\" or \"crm:salesforce\"", t)
	}
	if scoped && !validName(sys, true) {
		return "", "", errs.Invalid("type", "identifier type %q has an invalid system after the colon", t)
	}
	base = Type(b)
	switch base {
	case TypeCRM, TypeSocial:
		if !scoped {
			return "", "", errs.Invalid("type", "identifier type %q needs a system, as in %q", t, string(base)+":example")
		}
	case TypeEmail, TypePhone, TypeUserID, TypeAnonymousID:
		if scoped {
			return "", "", errs.Invalid("type", "identifier type %q takes no system", t)
		}
	}
	return base, sys, nil
}

func validName(s string, system bool) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_' && i > 0:
		case c >= '0' && c <= '9' && (i > 0 || system):
		case (c == '.' || c == '-') && system && i > 0:
		default:
			return false
		}
	}
	return true
}

// Value normalises v as an identifier of type t ("email", "phone", "crm:salesforce",
// "social:line" or a custom type). It returns an errs.Invalid error on field "value" that names
// the type when v cannot be such an identifier, and on field "type" when t is not a valid type.
//
// Emails go through Email and phones through Phone with region "JP". "social:line" must be a LINE
// user id (U followed by 32 hex digits). Every other type is an opaque id: Text, no control
// characters, at most MaxIDLength characters, case kept (ids from other systems are often case
// sensitive, e.g. 15-character Salesforce ids), except that UUIDs are lower-cased because
// RFC 9562 makes them case-insensitive. Value does not reject placeholders; ask Junk.
func Value(t string, v string) (string, error) {
	base, sys, err := ParseType(t)
	if err != nil {
		return "", err
	}
	if !utf8.ValidString(v) {
		return "", errs.Invalid("value", "%s identifier is not valid UTF-8", t)
	}
	var msg string
	switch base {
	case TypeEmail:
		var out string
		if out, msg = email(v); msg == "" {
			return out, nil
		}
	case TypePhone:
		var out string
		if out, msg = phone(v, "JP"); msg == "" {
			return out, nil
		}
	default:
		var out string
		if base == TypeSocial && sys == "line" {
			out, msg = lineUserID(v)
		} else {
			out, msg = opaque(v)
		}
		if msg == "" {
			return out, nil
		}
	}
	return "", errs.Invalid("value", "not a valid %s identifier: %s", t, msg)
}

// opaque normalises an id whose structure we do not know.
func opaque(v string) (string, string) {
	s := Text(v)
	if s == "" {
		return "", "empty"
	}
	if n := utf8.RuneCountInString(s); n > MaxIDLength {
		return "", "longer than 255 characters"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return "", "contains control characters or invalid bytes"
		}
	}
	if isUUID(s) {
		s = strings.ToLower(s)
	}
	return s, ""
}

// isUUID reports whether s is shaped like 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// lineUserID normalises a LINE Messaging API user id: "U" and 32 lower-case hex digits. The id is
// per provider (channel owner), which is why the type is social:line and not a global id.
func lineUserID(v string) (string, string) {
	s := Text(v)
	if len(s) != 33 || (s[0] != 'U' && s[0] != 'u') {
		return "", "a LINE user id is U followed by 32 hex digits"
	}
	for i := 1; i < len(s); i++ {
		if !isHex(s[i]) {
			return "", "a LINE user id is U followed by 32 hex digits"
		}
	}
	return "U" + strings.ToLower(s[1:]), ""
}
