package web

import (
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/notify"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/search"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// keyUse is how templates (.T "key", .V.T "key", $.T "key") and Go code (v.T("key")) name a
// catalogue entry.
var keyUse = regexp.MustCompile(`\.T[ (]"([^"]+)"`)

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	ja, en := cats["ja"], cats["en"]
	for k := range ja {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q", k)
		}
	}
	for k := range en {
		if _, ok := ja[k]; !ok {
			t.Errorf("ja.json lacks %q", k)
		}
	}
	for lang, c := range cats {
		for k, v := range c {
			if v == "" {
				t.Errorf("%s.json: %q is empty", lang, k)
			}
		}
	}
}

func TestEveryUsedKeyExists(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{} // key → where
	err = fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		for _, m := range keyUse.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, p := range goFiles {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyUse.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use; is the pattern still right?", len(used))
	}
	// Keys built at run time.
	for _, r := range accounts.Roles {
		used["role."+string(r)] = "view.RoleName"
	}
	for _, sc := range accounts.Scopes {
		used["scope."+string(sc)] = "view.ScopeName"
		used["scope."+string(sc)+".desc"] = "admin-api-keys.html"
	}
	for _, n := range []string{"overview", "members", "customers", "api_keys", "sources", "login_providers", "audit", "moderation", "spaces", "badges", "surveys"} {
		used["admin.nav."+n] = "Web.nav"
	}
	for _, k := range []community.Kind{community.Discussion, community.Question, community.Idea} {
		used["kind."+string(k)] = "view.KindName"
		used["compose.kind_desc."+string(k)] = "compose.html"
	}
	for _, r := range community.ReportReasons {
		used["report.reason."+r] = "view.ReportReasonName"
	}
	for _, k := range []string{"post", "comment", "member"} {
		used["report.kind."+k] = "admin-moderation.html"
	}
	for _, t := range []string{community.ReportOpen, "pending", community.ReportResolved, community.ReportDismissed} {
		used["moderation.tab."+t] = "Web.moderation"
	}
	for _, st := range []string{meetup.Going, meetup.Waitlisted, meetup.Interested, meetup.Cancelled} {
		used["event.rsvp."+st] = "view.RSVPName"
	}
	for _, b := range builtinBadges {
		used["badge.name."+b] = "view.BadgeName"
		used["badge.desc."+b] = "view.BadgeDesc"
	}
	for _, k := range []string{survey.Single, survey.Multiple, survey.Text, survey.Scale} {
		used["surveys.kind."+k] = "admin-surveys.html"
	}
	for _, k := range []string{badges.KindManual, badges.KindRule} {
		used["badges.kind."+k] = "admin-badges.html"
	}
	for _, st := range community.IdeaStatuses {
		used["idea.status."+st] = "view.StatusName"
	}
	for _, vis := range []community.Visibility{community.Public, community.Members, community.Private} {
		used["visibility."+string(vis)] = "view.VisibilityName"
		used["spaces_admin.vis_desc."+string(vis)] = "admin-spaces.html"
	}
	for _, e := range community.Emojis {
		used["reaction."+e] = "Web.reactions"
	}
	for _, t := range spaceTabs {
		used["space.tab."+t.key] = "Web.spacePage"
	}
	for _, so := range []string{community.SortVotes, community.SortTrending, community.SortNewest} {
		used["ideas.sort."+so] = "Web.ideas"
	}
	for _, k := range []string{search.KindPost, search.KindComment, search.KindMember, search.KindArticle, search.KindEvent} {
		used["search.kind."+k] = "Web.search"
	}
	for _, t := range notify.Types {
		used["notify.type."+t] = "view.NotifyTypeName"
		used["notify.desc."+t] = "settings-notifications.html"
	}
	for _, c := range consent.Channels {
		used["consent.channel."+string(c)] = "view.ChannelName"
	}
	for _, pu := range consent.Purposes {
		used["consent.purpose."+string(pu)] = "view.PurposeName"
	}
	for _, st := range consent.Statuses {
		used["consent.status."+string(st)] = "view.ConsentStatusName"
	}
	for _, src := range consent.Sources {
		used["consent.source."+string(src)] = "view.ConsentSourceName"
	}
	for _, r := range consent.SuppressionReasons {
		used["consent.suppression."+string(r)] = "view.SuppressionName"
	}
	for _, b := range consent.Bases {
		used["consent.basis."+string(b)] = "view.BasisName"
	}
	for _, k := range social.Kinds {
		used["social.button.login."+string(k)] = "view.SocialButton"
		used["social.button.signup."+string(k)] = "view.SocialButton"
		used["login_providers.client_id."+string(k)] = "admin-login-providers.html"
		used["login_providers.secret."+string(k)] = "admin-login-providers.html"
		for _, o := range consentOptions(accounts.PendingSocial{Provider: accounts.LoginProvider{Kind: k}, Identity: social.Identity{EmailVerified: true}}) {
			used["permission.optin."+o.Channel+"."+o.Purpose] = "social-permission.html"
			used["permission.optin."+o.Channel+"."+o.Purpose+".desc"] = "social-permission.html"
		}
	}
	for _, r := range privacy.Regimes {
		used["privacy.regime."+string(r)] = "view.RegimeName"
	}
	for _, k := range []privacy.Kind{privacy.KindExport, privacy.KindErasure} {
		used["privacy.kind."+string(k)] = "view.RequestKindName"
	}
	for _, st := range []privacy.Status{privacy.StatusOpen, privacy.StatusRunning, privacy.StatusCompleted, privacy.StatusDeclined} {
		used["privacy.status."+string(st)] = "view.RequestStatusName"
	}
	for _, c := range []privacy.Channel{privacy.ChannelCentre, privacy.ChannelStaff, privacy.ChannelAPI} {
		used["privacy_admin.channel."+string(c)] = "admin-privacy.html"
	}
	for _, pu := range centrePurposes {
		used["privacy.consent."+string(pu)] = "settings-privacy.html"
	}
	for _, t := range []string{"pending", "overdue", "all"} {
		used["privacy_admin.tab."+t] = "Web.adminPrivacy"
	}
	used["admin.nav.segments"] = "Web.nav"
	for _, k := range condKinds {
		used["segments.kind."+k.Key] = "Web.builderTree"
		for _, f := range k.Fields {
			if f.Type != fieldFilters {
				used["segments.field."+k.Key+"."+f.Key] = "builderInput"
			}
			if f.Labels != "" {
				for _, o := range f.Options {
					used[f.Labels+o] = "builderInput"
				}
			}
		}
	}
	for _, op := range valueOps {
		used["segments.op."+op] = "builderInput"
		used["segments.say.op."+op] = "sayValue"
	}
	for _, g := range []string{rowAll, rowAny} {
		used["segments.say."+g] = "describeTree"
	}
	for _, u := range []string{"Y", "M", "W", "D", "TH", "TM", "TS"} {
		used["segments.unit."+u] = "durationText"
		used["segments.unit."+u+".one"] = "durationText"
	}
	used["segments.kind.json"] = "Web.builderTree"
	// Prefixes of keys built at run time, listed above.
	for k := range used {
		if strings.HasSuffix(k, ".") {
			delete(used, k)
		}
	}
	// Every reason the parts behind the pages give their errors has a message (Web.message).
	reason := regexp.MustCompile(`(?:errs\.Because\(.*\)|badBecause\([^,]+), "([a-z_]+)"`)
	var srcs []string
	for _, part := range []string{"accounts", "community", "notify", "search", "dm", "meetup", "media", "kb", "badges", "survey", "privacy", "score"} {
		ps, _ := filepath.Glob("../" + part + "/*.go")
		srcs = append(srcs, ps...)
	}
	if len(srcs) < 10 {
		t.Fatalf("found only %d sources to scan for error reasons", len(srcs))
	}
	for _, p := range srcs {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(p)
		for _, m := range reason.FindAllStringSubmatch(string(b), -1) {
			used["err."+m[1]] = p
		}
	}
	for lang, c := range cats {
		for k, where := range used {
			if _, ok := c[k]; !ok {
				t.Errorf("%s.json lacks %q (used in %s)", lang, k, where)
			}
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"ja-JP,ja;q=0.9":              "ja",
		"en-US,en;q=0.9":              "en",
		"EN-gb":                       "en",
		"en;q=0.5, ja;q=0.6":          "ja",
		"fr, en-US;q=0.8, ja;q=0.7":   "en",
		"en;q=0, ja;q=0.1":            "ja",
		"en;q=0":                      "",
		"de":                          "",
		"*":                           "ja",
		"":                            "",
		"en;q=abc, ja":                "ja",
		" en-US ; q=0.9 , ja ; q=0.8": "en",
	} {
		if got := fromAcceptLanguage(h); got != want {
			t.Errorf("fromAcceptLanguage(%q) = %q, want %q", h, got, want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "en")
	if got := negotiateLang(r, &accounts.Member{Locale: "ja"}); got != "ja" {
		t.Errorf("member locale should beat Accept-Language, got %s", got)
	}
}

func TestLocalPath(t *testing.T) {
	good := []string{"/", "/admin", "/admin/members?after=abc", "/a//b"}
	bad := []string{"", "//evil.example", `/\evil.example`, "https://evil.example/", "evil", "/\r\nx", "//", "/\tx", "javascript:alert(1)"}
	for _, p := range good {
		if !localPath(p) {
			t.Errorf("localPath(%q) = false", p)
		}
	}
	for _, p := range bad {
		if localPath(p) {
			t.Errorf("localPath(%q) = true", p)
		}
	}
}
