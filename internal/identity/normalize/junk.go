package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Junk reports whether v, an identifier value (normalised or not; Junk applies Text and
// lower-cases before comparing), is a placeholder that many unrelated people share. Linking such
// a value would merge their profiles into one, as a shared in-store tablet or a form's default
// does, so the identity graph must ignore it. Junk blocks:
//
//   - placeholder words, in any case: "", "null", "nil", "none", "undefined", "anonymous",
//     "unknown", "test", "n/a", "na", "void", "nan", "true", "false", "[object object]",
//     "abc123", "-1", "guest", "ー" (the long vowel mark typed as a dash), and the Japanese "なし", "無し", "ナシ", "不明", "未設定",
//     "未入力", "未登録", "該当なし", "特になし", "テスト", "ゲスト";
//   - values made only of "0" and "-" (Segment's recommended ^[0-]*$: "0", "00", "0-0-0");
//   - values with no letter or digit at all ("-", "ー", "...", "?");
//   - one character repeated four or more times ("0000", "1111", "xxxx", "ああああ"), and
//     keyboard runs of four or more characters from the start of "1234567890", the alphabet,
//     "qwertyuiop" or "asdfghjkl" ("1234", "123456789", "abcd", "qwerty", "asdf"): what people
//     type to get past a required field. (A one-off "1111" or "1234" user id loses its links;
//     hundreds of strangers merged on it would be worse.)
//   - email addresses whose local part is one of the above or a no-reply mailbox
//     ("noreply", "no-reply", "donotreply", "do-not-reply", "no_reply", "nobody",
//     "mailer-daemon"), whose domain is a documentation domain (example.com, example.net,
//     example.org, RFC 2606; example.jp and example.co.jp, .ne.jp, .or.jp, .ac.jp, .ad.jp,
//     .ed.jp, .go.jp, .gr.jp, .lg.jp, reserved by JPRS) or a reserved TLD (.example, .test, .invalid, .localhost, RFC 2606/6761), or is
//     test.com / test.co.jp / test.jp; and
//   - E.164 numbers whose last 8 digits are one repeated digit ("+819000000000").
//
// Junk does not block real but shared-looking addresses such as info@ or support@ of a real
// company: B2B customers do sign up with them, and merging on them is a policy choice for the
// caller, not a normalisation fact.
func Junk(v string) bool {
	s := strings.ToLower(Text(v))
	if junkWord(s) {
		return true
	}
	if local, domain, ok := strings.Cut(s, "@"); ok {
		return junkWord(local) || junkMailbox(local) || junkDomain(domain)
	}
	if len(s) > 9 && s[0] == '+' && strings.Trim(s[1:], "0123456789") == "" {
		tail := s[len(s)-8:]
		return strings.Count(tail, tail[:1]) == 8
	}
	return false
}

func junkWord(s string) bool {
	switch s {
	case "", "null", "nil", "none", "undefined", "anonymous", "unknown", "test", "n/a", "na",
		"void", "nan", "true", "false", "[object object]", "abc123", "-1", "guest", "ー",
		"なし", "無し", "ナシ", "不明", "未設定", "未入力", "未登録", "該当なし", "特になし", "テスト", "ゲスト":
		return true
	}
	if strings.Trim(s, "0-") == "" {
		return true
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return true
	}
	if n := utf8.RuneCountInString(s); n >= 4 {
		r, _ := utf8.DecodeRuneInString(s)
		if strings.Count(s, string(r)) == n {
			return true
		}
	}
	if len(s) >= 4 && (strings.HasPrefix("1234567890", s) || strings.HasPrefix("abcdefghijklmnopqrstuvwxyz", s) ||
		strings.HasPrefix("qwertyuiop", s) || strings.HasPrefix("asdfghjkl", s)) {
		return true
	}
	return false
}

func junkMailbox(local string) bool {
	switch local {
	case "noreply", "no-reply", "no_reply", "no.reply", "donotreply", "do-not-reply", "do_not_reply",
		"nobody", "mailer-daemon":
		return true
	}
	return false
}

func junkDomain(domain string) bool {
	domain = strings.TrimSuffix(domain, ".")
	switch domain {
	case "example.com", "example.net", "example.org", "example.jp", "example", "test", "invalid", "localhost",
		"test.com", "test.co.jp", "test.jp":
		return true
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	switch tld {
	case "example", "test", "invalid", "localhost":
		return true
	}
	// JPRS reserves example.jp and example.<attribute type>.jp for documentation.
	if rest, ok := strings.CutPrefix(domain, "example."); ok {
		switch rest {
		case "ac.jp", "ad.jp", "co.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp", "ne.jp", "or.jp":
			return true
		}
	}
	return false
}
