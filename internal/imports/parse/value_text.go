package parse

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// normalize applies NFKC and trims surrounding white space (including the ideographic space,
// which NFKC turns into an ordinary one).
func normalize(s string) string {
	return strings.TrimSpace(norm.NFKC.String(s))
}

// quoteMaxRunes bounds how much of the input an error message repeats.
const quoteMaxRunes = 40

// quote puts s in Japanese corner brackets for an error message, shortened if long.
func quote(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf8.RuneCountInString(s) > quoteMaxRunes {
		r := []rune(s)
		s = string(r[:quoteMaxRunes]) + "…"
	}
	return "「" + s + "」"
}

// invalid builds the error every converter returns: the input quoted, then what is wrong.
func invalid(reason, input, format string, args ...any) error {
	return &errs.Error{
		Kind:   errs.KindInvalid,
		Msg:    quote(input) + " " + fmt.Sprintf(format, args...),
		Reason: reason,
		Args:   []any{input},
	}
}
