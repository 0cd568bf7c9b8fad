package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
)

// langCookie remembers the language a visitor chose with the switcher.
const langCookie = "kizuna_lang"

// defaultLang is the language of a visitor who expressed no preference: the community is Japanese
// first.
const defaultLang = "ja"

// catalog is one language's messages: a flat key → fmt format string.
type catalog map[string]string

// text returns the message for key, formatted with args. A missing key shows itself, so a gap is
// visible in the page instead of silently blank (the catalogue test keeps this from shipping).
func (c catalog) text(key string, args ...any) string {
	s, ok := c[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// loadCatalogs reads i18n/<lang>.json for every accounts locale.
func loadCatalogs(fsys fs.FS) (map[string]catalog, error) {
	out := make(map[string]catalog, len(accounts.Locales))
	for _, lang := range accounts.Locales {
		b, err := fs.ReadFile(fsys, "i18n/"+lang+".json")
		if err != nil {
			return nil, fmt.Errorf("reading the %s catalogue: %w", lang, err)
		}
		var c catalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("parsing the %s catalogue: %w", lang, err)
		}
		out[lang] = c
	}
	return out, nil
}

// zoneFor is where dates are shown: Asia/Tokyo for Japanese readers, UTC for English ones (who
// may be anywhere). Japan has kept no daylight saving time since 1951, so a fixed zone is exact
// and spares the binary the tz database.
func zoneFor(lang string) *time.Location {
	if lang == "ja" {
		return time.FixedZone("JST", 9*60*60)
	}
	return time.UTC
}

// negotiateLang picks the page language: the switcher's cookie, else the member's saved locale,
// else the browser's Accept-Language, else Japanese.
func negotiateLang(r *http.Request, member *accounts.Member) string {
	if c, err := r.Cookie(langCookie); err == nil && accounts.ValidLocale(c.Value) {
		return c.Value
	}
	if member != nil && accounts.ValidLocale(member.Locale) {
		return member.Locale
	}
	if l := fromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return defaultLang
}

// fromAcceptLanguage returns the supported language the header prefers most, or "" when it
// names none. Ties keep the header's order; "*" means the default.
func fromAcceptLanguage(h string) string {
	type choice struct {
		lang string
		q    float64
	}
	var choices []choice
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		switch {
		case primary == "*":
			primary = defaultLang
		case !accounts.ValidLocale(primary):
			continue
		}
		choices = append(choices, choice{primary, q})
	}
	slices.SortStableFunc(choices, func(a, b choice) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	if len(choices) == 0 {
		return ""
	}
	return choices[0].lang
}
