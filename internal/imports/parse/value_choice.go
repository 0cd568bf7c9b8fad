package parse

import (
	"strings"
)

// boolWords maps every accepted spelling (after NFKC and lower-casing) to its value.
var boolWords = map[string]bool{
	"true": true, "t": true, "yes": true, "y": true, "1": true, "on": true,
	"はい": true, "有": true, "有り": true, "あり": true, "○": true, "〇": true, "◯": true,
	"false": false, "f": false, "no": false, "n": false, "0": false, "off": false,
	"いいえ": false, "無": false, "無し": false, "なし": false, "×": false, "✕": false,
}

// Bool reads a yes/no value: true/false, t/f, yes/no, y/n, 1/0, on/off (any case, half- or
// full-width), はい/いいえ, 有/無 (also 有り/無し, あり/なし) and ○/× (also 〇, ◯ and ✕).
// The empty string is an error; callers decide whether a field is optional.
func Bool(s string) (bool, error) {
	v, ok := boolWords[strings.ToLower(normalize(s))]
	if !ok {
		return false, invalid("bool_invalid", s, "is not yes or no (use true/false, yes/no, 1/0, はい/いいえ, 有/無 or ○/×)")
	}
	return v, nil
}

// foldCategory is the form in which Category compares values: NFKC, lower case, white space
// runs as one space.
func foldCategory(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(normalize(s))), " ")
}

// Category matches s to one of allowed, ignoring case, width (ＶＩＰ is VIP, ｺﾞｰﾙﾄﾞ is ゴールド)
// and surrounding or repeated white space, and returns the allowed value as written there.
// When several allowed values match, the first wins.
func Category(s string, allowed []string) (string, error) {
	f := foldCategory(s)
	for _, a := range allowed {
		if foldCategory(a) == f {
			return a, nil
		}
	}
	list := allowed
	const maxListed = 12
	more := ""
	if len(list) > maxListed {
		list, more = list[:maxListed], ", …"
	}
	return "", invalid("category_invalid", s, "is not one of: %s", strings.Join(list, ", ")+more)
}
