// Package demo fills a bilingual demo community, so a newcomer sees a living product. Later parts
// add their content here: spaces, threads, ideas, events.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// Password is the password of every demo account, printed by `kizuna demo`.
const Password = "kizuna-demo-2026"

// Person is one demo account.
type Person struct {
	Email, Name, Locale string
	Role                accounts.Role
}

// People are the demo community's staff and members: a Japanese company's customer community
// with members in Japan and abroad.
var People = []Person{
	{"admin@demo.kizuna.example", "管理者 佐藤 美咲", "ja", accounts.RoleAdmin},
	{"community@demo.kizuna.example", "コミュニティマネージャー 田中 蓮", "ja", accounts.RoleCommunityManager},
	{"marketing@demo.kizuna.example", "Emily Carter", "en", accounts.RoleMarketer},
	{"success@demo.kizuna.example", "カスタマーサクセス 鈴木 陽菜", "ja", accounts.RoleCS},
	{"product@demo.kizuna.example", "Daniel Kim", "en", accounts.RoleProduct},
	{"analyst@demo.kizuna.example", "分析担当 高橋 悠真", "ja", accounts.RoleAnalyst},
	{"moderator@demo.kizuna.example", "モデレーター 伊藤 さくら", "ja", accounts.RoleModerator},
	{"haruto.yamamoto@demo.kizuna.example", "山本 陽翔", "ja", accounts.RoleMember},
	{"yui.nakamura@demo.kizuna.example", "中村 結衣", "ja", accounts.RoleMember},
	{"sota.kobayashi@demo.kizuna.example", "小林 蒼太", "ja", accounts.RoleMember},
	{"mei.kato@demo.kizuna.example", "加藤 芽依", "ja", accounts.RoleMember},
	{"riku.yoshida@demo.kizuna.example", "吉田 陸", "ja", accounts.RoleMember},
	{"aoi.yamada@demo.kizuna.example", "山田 葵", "ja", accounts.RoleMember},
	{"olivia.brown@demo.kizuna.example", "Olivia Brown", "en", accounts.RoleMember},
	{"lucas.martin@demo.kizuna.example", "Lucas Martin", "en", accounts.RoleMember},
	{"priya.sharma@demo.kizuna.example", "Priya Sharma", "en", accounts.RoleMember},
	{"chen.wei@demo.kizuna.example", "陳 偉 (Chen Wei)", "en", accounts.RoleMember},
}

// Result says what Seed did.
type Result struct {
	Created, Existing int
	Community         bool // the demo spaces and threads were created now
}

// Parts are the services the demo fills.
type Parts struct {
	Accounts  *accounts.Service
	Community *community.Service
	Meetup    *meetup.Service
	KB        *kb.Service
	Badges    *badges.Service
	Survey    *survey.Service
	CRM       *crm.Service
	Consent   *consent.Ledger // the customers' consents and provision records; left out when nil
	// Onboarding gets the demo's onboarding survey (with automatic segments); left out when nil.
	Onboarding *onboarding.Service
	// Segments gets segments from the playbook's templates, and Scores an engagement model with a
	// segment on it; each left out when nil.
	Segments *segment.Service
	Scores   *score.Service
}

// Seed creates the demo accounts that do not exist yet, with their roles, and, the first time,
// the community: spaces, threads, ideas and events, and the CRM records of its customers. Running it again changes nothing.
func Seed(ctx context.Context, parts Parts, log *slog.Logger) (Result, error) {
	acc := parts.Accounts
	var res Result
	for _, p := range People {
		if _, err := acc.MemberByEmail(ctx, p.Email); err == nil {
			res.Existing++
			continue
		} else if errs.KindOf(err) != errs.KindNotFound {
			return res, err
		}
		in := accounts.SignUpInput{Email: p.Email, Password: Password, DisplayName: p.Name, Locale: p.Locale}
		if _, err := acc.CreateMember(ctx, accounts.System(), in, p.Role); err != nil {
			return res, fmt.Errorf("demo account %s: %w", p.Email, err)
		}
		res.Created++
	}
	// CRM records are upserted by external id, so they are written (again) every time: an
	// installation seeded before the CRM part existed gets them too.
	profiles, err := seedCRM(ctx, acc, parts.CRM, time.Now())
	if err != nil {
		return res, err
	}
	if parts.Consent != nil {
		if err := seedConsents(ctx, parts.Consent, profiles); err != nil {
			return res, err
		}
	}
	if parts.Onboarding != nil {
		if err := seedOnboarding(ctx, parts.Onboarding); err != nil {
			return res, err
		}
	}
	if res.Community, err = seedCommunity(ctx, acc, parts.Community); err != nil {
		return res, err
	}
	if res.Community {
		if err := seedEvents(ctx, acc, parts.Meetup, time.Now()); err != nil {
			return res, err
		}
		if err := seedExtras(ctx, acc, parts.Community, parts.KB, parts.Badges, parts.Survey); err != nil {
			return res, err
		}
	}
	if parts.Segments != nil {
		if err := seedSegments(ctx, parts.Segments, parts.Scores); err != nil {
			return res, err
		}
	}

	log.Info("demo community ready", "created", res.Created, "existing", res.Existing, "community", res.Community)
	return res, nil
}
