package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// Email normalises an email address: Text (so "ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ" becomes
// "taro@example.co.jp"), lower-case, strip a surrounding "<…>" and a "mailto:" prefix, read the
// ideographic full stop "。" as a dot (as IDNA does, and as Japanese IMEs often type it), drop one
// trailing dot of the domain, then check local@domain.
//
// The local part is lower-cased although RFC 5321 lets it be case-sensitive: no mainstream
// provider treats it so, and people type their address in whatever case. Gmail's dots and
// "+tag" suffixes are kept: on other providers (and on Google Workspace domains that change the
// rule) "taro.y@…" and "taroy@…" or "taro+x@…" can be different people's mailboxes, and a wrong
// merge leaks one customer's data to another, while a missed merge only costs a duplicate.
//
// The local part is a dot-atom of at most 64 bytes (quoted local parts are refused: nobody
// signs up with one). The domain has at least two labels of letters, digits and hyphens (Unicode
// letters are allowed, so internationalised domains are kept in their U-label form; an A-label
// "xn--" spelling of the same domain is not unified with it), the last label is not all digits,
// and the whole address is at most 254 bytes.
func Email(s string) (string, error) {
	out, msg := email(s)
	if msg != "" {
		return "", errs.Invalid("email", "not a valid email address: %s", msg)
	}
	return out, nil
}

func email(s string) (string, string) {
	s = strings.ToLower(Text(s))
	// Peel "<mailto:x>", "mailto:<x>" and the like; two rounds cover every nesting people send.
	for range 2 {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
			s = s[1 : len(s)-1]
		}
		s = strings.TrimPrefix(strings.TrimSpace(s), "mailto:")
	}
	s = strings.ReplaceAll(strings.TrimSpace(s), "。", ".")
	if s == "" {
		return "", "empty"
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok {
		return "", "missing @"
	}
	if strings.Contains(domain, "@") {
		return "", "more than one @"
	}
	if local == "" {
		return "", "nothing before the @"
	}
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return "", "nothing after the @"
	}
	if len(local) > 64 {
		return "", "the part before the @ is longer than 64 bytes"
	}
	if msg := checkLocal(local); msg != "" {
		return "", msg
	}
	if msg := checkDomain(domain); msg != "" {
		return "", msg
	}
	out := local + "@" + domain
	if len(out) > 254 {
		return "", "longer than 254 bytes"
	}
	return out, ""
}

// checkLocal accepts an RFC 5322 dot-atom of ASCII atext.
func checkLocal(local string) string {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "the part before the @ starts or ends with a dot or has two dots in a row"
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0 {
			continue
		}
		return "the part before the @ has a character that is not allowed (" + quoteRune(local[i:]) + ")"
	}
	return ""
}

func checkDomain(domain string) string {
	if len(domain) > 253 {
		return "the domain is longer than 253 bytes"
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "the domain has no dot"
	}
	for _, l := range labels {
		if l == "" {
			return "the domain has an empty label"
		}
		if len(l) > 63 {
			return "a domain label is longer than 63 bytes"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "a domain label starts or ends with a hyphen"
		}
		for _, r := range l {
			if r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				continue
			}
			if r > unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
				continue
			}
			return "the domain has a character that is not allowed (" + quoteRune(l[strings.IndexRune(l, r):]) + ")"
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "the domain ends in a number"
	}
	return ""
}

func quoteRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return "\"" + string(r) + "\""
}
