package segment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Template is a ready-made segment from the community playbook. Its Definition is the segment
// language's JSON with a placeholder {{name}} inside a string value for each of Params, which
// the staff choose (a product, an interest); Build fills them in and parses the result. Name and
// Description are in Japanese ("ja") and English ("en").
type Template struct {
	ID          string            `json:"id"`
	Name        map[string]string `json:"name"`
	Description map[string]string `json:"description"`
	Params      []TemplateParam   `json:"params"`
	Definition  string            `json:"definition"`
}

// TemplateParam is a value the staff choose when they make a segment from a template. Label and
// Hint are in Japanese ("ja") and English ("en"); Example is a value that fits.
type TemplateParam struct {
	Name    string            `json:"name"`
	Label   map[string]string `json:"label"`
	Hint    map[string]string `json:"hint"`
	Example string            `json:"example"`
}

// The ids of the playbook's templates.
const (
	TemplateEngagedCustomers     = "engaged_customers"
	TemplateRecentButQuiet       = "recent_customers_inactive"
	TemplateInterestedNoContract = "interested_without_contract"
	TemplateDormantMembers       = "dormant_members"
	TemplateExperts              = "experts"
	TemplateUnansweredAskers     = "unanswered_askers"
)

// Templates returns the community playbook's segment templates, in the order the playbook lists
// them. The result is a fresh copy each call: callers may keep or change it.
func Templates() []Template {
	return []Template{
		{
			ID:   TemplateEngagedCustomers,
			Name: map[string]string{"ja": "エンゲージした顧客（ロイヤル層）", "en": "Engaged customers (loyal group)"},
			Description: map[string]string{
				"ja": "有効な契約があり、この 30 日にコミュニティで投稿した、3 回以上返信した、またはイベントに参加した人。",
				"en": "An active contract, and in the last 30 days posted, replied three times or more, or came to a community event.",
			},
			Definition: compactJSON(`{"all":[{"contract":{"status":"active"}},{"any":[
				{"event":"Post Created","within_last":"P30D"},
				{"event":"Comment Created","count":{"op":"gte","value":3},"within_last":"P30D"},
				{"attended":{"within_last":"P30D"}}]}]}`),
		},
		{
			ID:   TemplateRecentButQuiet,
			Name: map[string]string{"ja": "最近の顧客で、30 日コミュニティ活動がない人", "en": "Recent customers with no community activity in 30 days"},
			Description: map[string]string{
				"ja": "この 90 日に購入したか契約が始まったのに、この 30 日コミュニティで何もしていない人（オンボーディングの声かけ先）。",
				"en": "Bought something or started a contract in the last 90 days, yet did nothing in the community in the last 30 days (whom to welcome in).",
			},
			Definition: compactJSON(`{"all":[{"any":[{"event":"Order Completed","within_last":"P90D"},{"contract":{"status":"any","started_within":"P90D"}}]},
				{"not":{"computed":"last_community_activity","op":"within_last","value":"P30D"}}]}`),
		},
		{
			ID:   TemplateInterestedNoContract,
			Name: map[string]string{"ja": "製品に関心があるが契約していない人", "en": "Interested in a product without a contract for it"},
			Description: map[string]string{
				"ja": "オンボーディングで関心を選んだ（interests トレイトにある）が、その製品の有効な契約がない人（アップセル先）。",
				"en": "Chose the interest in the onboarding survey (it is in the interests trait) but holds no active contract for the product (an upsell list).",
			},
			Params: []TemplateParam{
				{Name: "interest", Label: map[string]string{"ja": "関心", "en": "Interest"},
					Hint: map[string]string{
						"ja": "interests トレイトの値：space:<スペースのスラッグ> または tag:<タグ>",
						"en": "a value of the interests trait: space:<space slug> or tag:<tag>",
					}, Example: "tag:pro"},
				{Name: "product", Label: map[string]string{"ja": "製品（契約のプラン）", "en": "Product (the contract's plan)"},
					Hint: map[string]string{"ja": "CRM の契約のプラン名", "en": "the plan name of the CRM contract"}, Example: "Pro"},
			},
			Definition: compactJSON(`{"all":[{"trait":"interests","op":"contains","value":"{{interest}}"},
				{"not":{"contract":{"product":"{{product}}","status":"active"}}}]}`),
		},
		{
			ID:   TemplateDormantMembers,
			Name: map[string]string{"ja": "休眠メンバー（60 日ログインなし）", "en": "Dormant members (no log-in in 60 days)"},
			Description: map[string]string{
				"ja": "60 日より前に登録し、この 60 日ログインしていないメンバー。",
				"en": "Members who signed up more than 60 days ago and have not logged in for 60 days.",
			},
			Definition: compactJSON(`{"all":[{"event":"Member Signed Up"},{"not":{"event":"Member Signed Up","within_last":"P60D"}},
				{"not":{"computed":"last_login","op":"within_last","value":"P60D"}}]}`),
		},
		{
			ID:   TemplateExperts,
			Name: map[string]string{"ja": "エキスパート（採用された回答 5 件以上）", "en": "Experts (5 or more accepted answers)"},
			Description: map[string]string{
				"ja": "ほかの人の質問への回答が 5 回以上採用された人（非表示の回答と質問は数えない）。",
				"en": "Had 5 or more replies accepted as the answer to someone else's question (hidden replies and questions do not count).",
			},
			Definition: compactJSON(`{"accepted_answers":{"op":"gte","value":5}}`),
		},
		{
			ID:   TemplateUnansweredAskers,
			Name: map[string]string{"ja": "回答を待っている質問者", "en": "Unanswered askers"},
			Description: map[string]string{
				"ja": "1 日以上前にした質問に、採用された回答もほかの人からの返信もない人（CS のフォロー先）。",
				"en": "Asked a question more than a day ago that has no accepted answer and no reply from anyone else (for customer success to follow up).",
			},
			Definition: compactJSON(`{"unanswered_questions":{"op":"gte","value":1,"older_than":"P1D"}}`),
		},
	}
}

// compactJSON is the JSON text js without insignificant white space; js is a literal above, so
// a failure is a mistake in this file (TestTemplatesBuildAndParse catches it).
func compactJSON(js string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(js)); err != nil {
		panic("segment: template definition is not JSON: " + err.Error())
	}
	return b.String()
}

// TemplateByID returns the template with id.
func TemplateByID(id string) (Template, bool) {
	ts := Templates()
	i := slices.IndexFunc(ts, func(t Template) bool { return t.ID == id })
	if i < 0 {
		return Template{}, false
	}
	return ts[i], true
}

// Build fills the template's placeholders with params and parses the definition. A missing or
// unknown parameter, or a value that cannot be one, is an errs.Invalid error naming
// params.<name>.
func (t Template) Build(params map[string]string) (Node, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(t.Params, func(p TemplateParam) bool { return p.Name == k }) {
			if len(t.Params) == 0 {
				return Node{}, errs.Invalid("params."+k, "template %s takes no parameters", t.ID)
			}
			return Node{}, errs.Invalid("params."+k, "is not a parameter of template %s; it takes %s", t.ID, t.paramNames())
		}
	}
	def := t.Definition
	for _, p := range t.Params {
		v := strings.TrimSpace(params[p.Name])
		if v == "" {
			return Node{}, errs.Invalid("params."+p.Name, "is required by template %s: %s, such as %s", t.ID, p.Hint["en"], p.Example)
		}
		if len(v) > maxNameLen || !utf8.ValidString(v) || strings.ContainsAny(v, "\"\\\x00") {
			return Node{}, errs.Invalid("params."+p.Name, "must be at most %d characters of text without quotes or backslashes", maxNameLen)
		}
		def = strings.ReplaceAll(def, "{{"+p.Name+"}}", v)
	}
	n, err := Parse([]byte(def))
	if err != nil {
		return Node{}, fmt.Errorf("template %s: %w", t.ID, err)
	}
	return n, nil
}

func (t Template) paramNames() string {
	names := make([]string, len(t.Params))
	for i, p := range t.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// CreateFromTemplate creates a segment named name from the template templateID with params
// (see Template.Build); an unknown template is an errs.Invalid error naming "template".
func (s *Service) CreateFromTemplate(ctx context.Context, p accounts.Principal, name, templateID string, params map[string]string) (Segment, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Segment{}, err
	}
	t, ok := TemplateByID(templateID)
	if !ok {
		ids := make([]string, 0, 6)
		for _, t := range Templates() {
			ids = append(ids, t.ID)
		}
		return Segment{}, errs.Invalid("template", "no template %q; templates are %s", templateID, strings.Join(ids, ", "))
	}
	n, err := t.Build(params)
	if err != nil {
		return Segment{}, err
	}
	def, err := json.Marshal(n)
	if err != nil {
		return Segment{}, err
	}
	return s.Create(ctx, p, name, def)
}
