package demo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// engagementModel is the demo's score model: contributions count more than visits, a day's
// reactions and log-ins are capped, and a month without activity halves the score.
var engagementModel = score.Input{
	Name:        "エンゲージメント / Engagement",
	Description: "コミュニティでの貢献度。投稿・回答・イベント参加で上がり、30 日で半減します。 How much someone contributes; halves in 30 days without activity.",
	Rules: json.RawMessage(`[{"event":"Post Created","points":10},{"event":"Comment Created","points":3},
		{"event":"Event Attended","points":20},{"event":"Idea Voted","points":1,"cap":{"points":5,"per":"P1D"}},
		{"event":"Reaction Added","points":1,"cap":{"points":10,"per":"P1D"}},
		{"event":"Member Logged In","points":1,"cap":{"points":1,"per":"P1D"}}]`),
	Cap:        json.RawMessage(`200`),
	HalfLife:   "P30D",
	Thresholds: json.RawMessage(`[{"name":"Active","value":20},{"name":"Champion","value":80}]`),
}

// demoTemplates are the playbook templates the demo makes segments of, with their names.
var demoTemplates = []struct{ template, name string }{
	{"engaged_customers", "エンゲージの高い顧客 / Engaged customers"},
	{"dormant_members", "休眠メンバー / Dormant members"},
	{"experts", "エキスパート / Experts"},
	{"unanswered_askers", "回答待ちの質問者 / Unanswered askers"},
}

// seedSegments creates the engagement score model and segments from the playbook's templates,
// and one on the score, each unless one of that name exists.
func seedSegments(ctx context.Context, segs *segment.Service, scores *score.Service) error {
	sys := accounts.System()
	list, err := segs.List(ctx, sys)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, s := range list {
		have[s.Name] = true
	}
	for _, t := range demoTemplates {
		if have[t.name] {
			continue
		}
		if _, err := segs.CreateFromTemplate(ctx, sys, t.name, t.template, nil); err != nil {
			return fmt.Errorf("demo segment %s: %w", t.template, err)
		}
	}
	if scores == nil {
		return nil
	}
	models, err := scores.List(ctx, sys)
	if err != nil {
		return err
	}
	var model score.Model
	for _, m := range models {
		if m.Name == engagementModel.Name {
			model = m
		}
	}
	if model.ID == "" {
		if model, err = scores.Create(ctx, sys, engagementModel); err != nil {
			return fmt.Errorf("demo score model: %w", err)
		}
	}
	const name = "アクティブなメンバー / Active members (engagement ≥ 20)"
	if have[name] {
		return nil
	}
	def := fmt.Sprintf(`{"score":%q,"op":"gte","value":20}`, model.ID)
	if _, err := segs.Create(ctx, sys, name, json.RawMessage(def)); err != nil {
		return fmt.Errorf("demo segment on the score: %w", err)
	}
	return nil
}
