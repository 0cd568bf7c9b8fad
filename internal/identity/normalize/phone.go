package normalize

import (
	"strings"
	"unicode"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// region is what Phone needs to know about a default region: its country calling code, the
// trunk prefix dialled before national numbers, the prefix for dialling abroad, and the lengths
// of its national significant numbers (0 means "anything that fits E.164").
type region struct {
	cc     string
	trunk  string
	intl   string
	minNSN int
	maxNSN int
}

// regionOf returns the rules for a CLDR region code. The list is short on purpose: a region is
// added when a customer needs it, with tests, rather than guessed.
func regionOf(code string) (region, bool) {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "", "JP":
		// Japanese numbers are 0 + 9 or 10 digits: landlines and 0120/0570 9, mobiles
		// (090/080/070/060), 050 IP phones and 0800 toll-free 10. Abroad one dials 010.
		return region{cc: "81", trunk: "0", intl: "010", minNSN: 9, maxNSN: 10}, true
	case "US", "CA":
		// NANP: 10 digits, trunk prefix 1, international prefix 011.
		return region{cc: "1", trunk: "1", intl: "011", minNSN: 10, maxNSN: 10}, true
	case "KR":
		return region{cc: "82", trunk: "0", intl: "00", minNSN: 8, maxNSN: 10}, true
	case "TW":
		return region{cc: "886", trunk: "0", intl: "00", minNSN: 8, maxNSN: 9}, true
	case "GB":
		return region{cc: "44", trunk: "0", intl: "00", minNSN: 9, maxNSN: 10}, true
	}
	return region{}, false
}

// knownRegions are the regions regionOf knows, used to check numbers given with "+".
const knownRegions = "JP US KR TW GB"

// trunkZeroCodes are country codes whose national significant numbers never start with 0 while
// people write "+81 (0)90…" or "+81090…" anyway; the 0 after the code is dropped. Country codes
// are prefix-free, so a match on one of these is never a different country.
const trunkZeroCodes = "81 82 886 86 44 49 33 61 64 66 63 84 62 91 31 41 43 32 46 47 353"

// Phone normalises a phone number to E.164 ("+819012345678"). Numbers without "+" are read as
// national numbers of defaultRegion (a CLDR code: "JP", "US", "CA", "KR", "TW" or "GB"; empty means "JP"), after
// the region's international prefix (010 in Japan, 011 in the US) or its country code without
// "+" ("81-90-1234-5678").
//
// Text comes first, so full-width digits, "＋", "（）" and "－" work. Then the separators
// space, "-", "(", ")", "[", "]", ".", "/" are removed, along with the dashes people type instead of a
// hyphen: the katakana long vowel mark "ー" (and half-width "ｰ"), U+2010–U+2015 and the minus
// sign U+2212. A "tel:" prefix is dropped. After "+81", a leading 0 of the national number is
// dropped ("+81 090…" → "+8190…"); likewise for other codes whose numbers never start with 0.
//
// Letters (including extensions such as "内線 12" or "ext. 3") and other symbols are refused;
// so are numbers of fewer than 8 digits with the country code (shorter ones exist only in a few
// Pacific islands), more than E.164's 15, or outside the national lengths of a known region
// (JP 9 or 10 by prefix, NANP 10, KR 8–10, TW 8–9, GB 9–10). Toll-free
// numbers (0120, 0800) are kept in E.164 although they cannot be dialled from abroad: as
// identifiers they only need to be canonical.
func Phone(s string, defaultRegion string) (string, error) {
	out, msg := phone(s, defaultRegion)
	if msg != "" {
		return "", errs.Invalid("phone", "not a valid phone number: %s", msg)
	}
	return out, nil
}

func phone(s, defaultRegion string) (string, string) {
	reg, ok := regionOf(defaultRegion)
	if !ok {
		return "", "unsupported default region " + quote(defaultRegion)
	}
	s = strings.ToLower(Text(s))
	s = strings.TrimPrefix(s, "tel:")
	var b strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case strings.ContainsRune(" -().[]/\u30fc\u2010\u2011\u2012\u2013\u2014\u2015\u2212", r):
		case r == '+':
			return "", "\"+\" is allowed only at the start"
		case unicode.IsLetter(r):
			return "", "contains letters"
		default:
			return "", "contains " + quote(string(r))
		}
	}
	d := b.String()
	if d == "" {
		return "", "no digits"
	}
	if !plus {
		switch {
		case strings.HasPrefix(d, reg.intl):
			d = d[len(reg.intl):]
		case reg.trunk != "" && strings.HasPrefix(d, reg.trunk) && reg.cc != reg.trunk:
			d = reg.cc + d[len(reg.trunk):]
		case strings.HasPrefix(d, reg.cc) && len(d)-len(reg.cc) >= reg.minNSN && len(d)-len(reg.cc) <= reg.maxNSN:
			// the country code without "+": "81-90-1234-5678", "1 415 555 0100"
		case reg.cc == "1" && len(d) == 10:
			d = reg.cc + d
		default:
			if reg.trunk == "0" {
				return "", "a national number must start with 0 (or give the country code with +)"
			}
			d = reg.cc + d
		}
	}
	for cc := range strings.FieldsSeq(trunkZeroCodes) {
		if strings.HasPrefix(d, cc+"0") {
			d = cc + d[len(cc)+1:]
			if strings.HasPrefix(d, cc+"0") {
				return "", "the number after +" + cc + " cannot start with 0"
			}
			break
		}
	}
	if len(d) < 8 {
		return "", "too short"
	}
	if len(d) > 15 {
		return "", "longer than the 15 digits E.164 allows"
	}
	if d[0] == '0' {
		return "", "country code cannot start with 0"
	}
	for code := range strings.FieldsSeq(knownRegions) {
		reg, _ := regionOf(code)
		if !strings.HasPrefix(d, reg.cc) {
			continue
		}
		nsn := len(d) - len(reg.cc)
		if nsn < reg.minNSN {
			return "", "too short for +" + reg.cc
		}
		if nsn > reg.maxNSN {
			return "", "too long for +" + reg.cc
		}
		if reg.cc == "81" {
			// Mobile (60/70/80/90), IP (50), M2M (20) and 0800 numbers have 10 digits after the
			// trunk 0; landlines and 0120/0570/0990 numbers have 9.
			want := 9
			if strings.IndexByte("256789", d[2]) >= 0 && d[3] == '0' {
				want = 10
			}
			if nsn < want {
				return "", "too short for +81" + d[2:4]
			}
			if nsn > want {
				return "", "too long for +81" + d[2:4]
			}
		}
		if reg.cc == "1" && (d[1] < '2' || d[4] < '2') {
			return "", "area code and exchange cannot start with 0 or 1 in +1"
		}
		break
	}
	return "+" + d, ""
}

func quote(s string) string { return "\"" + s + "\"" }
