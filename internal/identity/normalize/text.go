// Package normalize turns the identifiers that reach the identity graph of the customer data hub
// (email addresses, phone numbers, user, anonymous, member, CRM, store and social ids) into one
// canonical spelling, so that the same person typed two ways matches one profile, and flags the
// placeholder values that would otherwise merge strangers into one profile.
//
// Everything here is a pure function: no I/O and no package-level mutable state. The rules are
// written for Japan first (full-width input from IMEs, half-width katakana, Japanese phone
// numbers) and keep working for other locales.
package normalize

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Text returns s in NFKC with surrounding white space trimmed and every run of inner white space
// collapsed to one ASCII space. NFKC turns full-width letters, digits and punctuation
// ("ＴＡＲＯ１２３＠") into ASCII, half-width katakana ("ﾀﾛｳ", "ｶﾞ") into full-width ("タロウ",
// "ガ"), and the ideographic space U+3000 into a plain space. Zero-width characters that
// copy-and-paste leaves behind (U+200B–U+200D, U+2060, U+FEFF) are removed, and invalid UTF-8 is
// replaced by U+FFFD. Case is kept: whether case matters depends on the identifier type.
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	// Remove zero-width characters before normalising: removing them afterwards could bring a
	// letter and a combining mark together and leave a string that is no longer in NFKC.
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
			return -1
		}
		return r
	}, s)
	s = norm.NFKC.String(s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}
