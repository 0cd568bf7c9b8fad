package parse

import (
	"math"
	"strconv"
	"strings"
)

// numberHint is what every number error suggests instead.
const numberHint = "(use 1234, 1,234, -12.5, 1.2e3, ¥1,234 or 1,234円)"

// currencySymbols are the prefixes Money and Number recognise. A backslash is the yen sign as
// Shift_JIS files show it (byte 0x5C), so \1,234 is ¥1,234. $ means US dollars; other dollars
// need their code (12.34 CAD).
var currencySymbols = map[string]string{"¥": "JPY", `\`: "JPY", "$": "USD", "€": "EUR", "£": "GBP"}

// minorDigits gives the digits after the decimal point of each currency Money accepts by code
// (ISO 4217).
var minorDigits = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "TWD": 2,
	"USD": 2, "EUR": 2, "GBP": 2, "CNY": 2, "HKD": 2, "SGD": 2, "AUD": 2, "NZD": 2, "CAD": 2,
	"CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "THB": 2, "MYR": 2, "PHP": 2, "IDR": 2, "INR": 2,
	"MXN": 2, "BRL": 2, "ZAR": 2,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}

// amount is a number taken apart: its sign, currency marks, and the digits of its parts.
type amount struct {
	negative bool
	currency string // ISO code from a symbol, 円 or a code; empty if none
	whole    string // digits before the decimal point, grouping commas removed
	frac     string // digits after the decimal point
	exp      string // exponent digits with optional sign, without the e
	hasExp   bool
}

// lexAmount takes apart s (already normalised): an optional sign (-, +, −, or ▲/△ as
// Japanese accounts write a minus), an optional currency before (¥ \ $ € £ or a code such as
// USD) or after (円 or a code), and a decimal number whose integer part is either plain digits
// or digits grouped by commas in threes (1,234,567; 1,23,4 is rejected). ok is false when s
// is not of that shape or names two different currencies.
func lexAmount(s string) (a amount, ok bool) {
	sign := func() {
		for _, p := range []string{"-", "+", "−", "▲", "△"} {
			if strings.HasPrefix(s, p) && !a.negative {
				a.negative = p != "+"
				s = strings.TrimSpace(s[len(p):])
				return
			}
		}
	}
	setCurrency := func(c string) bool {
		if a.currency != "" && a.currency != c {
			return false
		}
		a.currency = c
		return true
	}
	sign()
	for sym, code := range currencySymbols {
		if strings.HasPrefix(s, sym) {
			setCurrency(code)
			s = strings.TrimSpace(s[len(sym):])
			break
		}
	}
	if len(s) >= 3 && isCode(s[:3]) {
		if !setCurrency(strings.ToUpper(s[:3])) {
			return a, false
		}
		s = strings.TrimSpace(s[3:])
	}
	if !a.negative {
		sign()
	}
	if rest, found := strings.CutSuffix(s, "円"); found {
		if !setCurrency("JPY") {
			return a, false
		}
		s = strings.TrimSpace(rest)
	} else if len(s) >= 3 && isCode(s[len(s)-3:]) {
		if !setCurrency(strings.ToUpper(s[len(s)-3:])) {
			return a, false
		}
		s = strings.TrimSpace(s[:len(s)-3])
	}

	if i := strings.IndexAny(s, "eE"); i >= 0 {
		a.exp, a.hasExp = s[i+1:], true
		s = s[:i]
		e := strings.TrimPrefix(strings.TrimPrefix(a.exp, "-"), "+")
		if e == "" || !allDigits(e) || len(e) > 4 {
			return a, false
		}
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if hasPoint && (frac == "" || !allDigits(frac)) {
		return a, false
	}
	a.frac = frac
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		if len(groups[0]) < 1 || len(groups[0]) > 3 {
			return a, false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return a, false
			}
		}
		whole = strings.Join(groups, "")
	}
	if !allDigits(whole) || (whole == "" && !hasPoint) {
		return a, false
	}
	a.whole = whole
	return a, true
}

// isCode reports whether s is an ISO 4217 code Money knows, in any case.
func isCode(s string) bool {
	_, ok := minorDigits[strings.ToUpper(s)]
	return ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Number reads a decimal number: 1234, "1,234", "１，２３４", "-12.5", ".5", "1.2e3", and amounts
// with a currency mark, which is ignored ("¥1,234", "1,234円", "$12.34", "12.34 USD"). Grouping
// commas must split the integer part into threes (1,234,567); "1,23,4" and a decimal comma
// ("12,5") are rejected. A minus may be written -, − (U+2212) or ▲/△. NaN, infinities,
// hexadecimal, underscores and percentages are rejected.
func Number(s string) (float64, error) {
	in := s
	s = normalize(s)
	if s == "" {
		return 0, invalid("number_empty", in, "is empty: a number is expected %s", numberHint)
	}
	a, ok := lexAmount(s)
	if !ok {
		return 0, invalid("number_invalid", in, "is not a number %s", numberHint)
	}
	text := a.whole
	if text == "" {
		text = "0"
	}
	if a.frac != "" {
		text += "." + a.frac
	}
	if a.hasExp {
		text += "e" + a.exp
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, invalid("number_range", in, "is too large a number")
	}
	if a.negative {
		f = -f
	}
	return f, nil
}

// Int reads a whole number written as Number accepts it but without an exponent. A fraction of
// zeros ("12.00", as spreadsheets export whole numbers) is allowed; any other fraction is an
// error, never rounded.
func Int(s string) (int64, error) {
	in := s
	s = normalize(s)
	if s == "" {
		return 0, invalid("int_empty", in, "is empty: a whole number is expected (use 1234 or 1,234)")
	}
	a, ok := lexAmount(s)
	if !ok || a.hasExp || a.whole == "" {
		return 0, invalid("int_invalid", in, "is not a whole number (use 1234 or 1,234)")
	}
	if strings.Trim(a.frac, "0") != "" {
		return 0, invalid("int_fraction", in, "is not a whole number: it has a fraction (use 1234 or 1,234)")
	}
	return signedInt(in, a.negative, a.whole)
}

// signedInt parses digits as an int64 with the given sign, reporting overflow.
func signedInt(in string, negative bool, digits string) (int64, error) {
	if negative {
		digits = "-" + digits
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, invalid("number_range", in, "is too large a number")
	}
	return n, nil
}

// Money reads an amount of money as an integer count of the currency's minor unit and the
// ISO 4217 code: "¥1,234" and "1,234円" → 1234 JPY (the yen has no minor unit), "$12.34" →
// 1234 USD, "12.34 USD" or "USD 12.34" → 1234 USD, "€5" → 500 EUR, "-¥500" or "▲500円" → -500
// JPY. A backslash before the digits is read as ¥, as Shift_JIS files show the yen sign.
// The currency must be given; use MoneyIn to supply a default. More fraction digits than the
// currency has are an error unless they are zeros ("¥12.5" is rejected, "$1.50" and "¥100.00" are
// fine); amounts are never rounded. Exponents are rejected.
func Money(s string) (amountMinor int64, currency string, err error) {
	return MoneyIn(s, "")
}

// MoneyIn is Money with a default currency (an ISO 4217 code such as "JPY") for amounts
// written without one; an empty default makes the currency required, as in Money.
func MoneyIn(s, defaultCurrency string) (amountMinor int64, currency string, err error) {
	in := s
	s = normalize(s)
	const hint = "(use ¥1,234, 1,234円, $12.34 or 12.34 USD)"
	if s == "" {
		return 0, "", invalid("money_empty", in, "is empty: an amount of money is expected %s", hint)
	}
	a, ok := lexAmount(s)
	if !ok || a.hasExp || a.whole == "" {
		return 0, "", invalid("money_invalid", in, "is not an amount of money %s", hint)
	}
	if a.currency == "" {
		a.currency = strings.ToUpper(defaultCurrency)
	}
	digits, known := minorDigits[a.currency]
	if a.currency == "" || !known {
		return 0, "", invalid("money_currency", in, "has no currency %s", hint)
	}
	frac := strings.TrimRight(a.frac, "0")
	if len(a.frac) > digits && len(frac) > digits {
		if digits == 0 {
			return 0, "", invalid("money_fraction", in, "has a fraction, but %s has no minor unit", a.currency)
		}
		return 0, "", invalid("money_fraction", in, "has more than %d digits after the point for %s", digits, a.currency)
	}
	frac += strings.Repeat("0", digits-len(frac))
	n, err := signedInt(in, a.negative, a.whole+frac)
	if err != nil {
		return 0, "", err
	}
	return n, a.currency, nil
}
