package onboarding_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/db/dbtest"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/onboarding"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/segment"
)

var ctx = context.Background()

type fixture struct {
	t   *testing.T
	db  *db.DB
	acc *accounts.Service
	seg *segment.Service
	s   *onboarding.Service
}

func newFixture(t *testing.T, e db.Engine) *fixture {
	t.Helper()
	d := dbtest.Open(t, e, backbone.Migrations(), accounts.Migrations(), identity.Migrations(), profile.Migrations(), crm.Migrations(),
		consent.Migrations(), segment.Migrations(), onboarding.Migrations())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	ob := backbone.NewOutbox(d)
	f := &fixture{t: t, db: d}
	f.acc = accounts.New(accounts.Deps{DB: d, Outbox: ob, Log: log, HashParams: accounts.TestHashParams(), Now: clock})
	f.seg = segment.New(segment.Deps{DB: d, Outbox: ob, Identity: identity.New(identity.Deps{DB: d, Outbox: ob}), Now: clock})
	f.s = onboarding.New(onboarding.Deps{DB: d, Outbox: ob, Segments: f.seg, Now: clock})
	return f
}

func (f *fixture) member(email string, role accounts.Role) accounts.Principal {
	f.t.Helper()
	m, err := f.acc.CreateMember(ctx, accounts.System(), accounts.SignUpInput{Email: email, Password: "member password", DisplayName: "m"}, role)
	if err != nil {
		f.t.Fatal(err)
	}
	return m.Principal()
}

type emitted struct {
	Type       string         `json:"type"`
	Event      string         `json:"event"`
	UserID     string         `json:"userId"`
	Traits     map[string]any `json:"traits"`
	Properties map[string]any `json:"properties"`
}

// lastEvents returns the last n events committed to the outbox, oldest first.
func (f *fixture) lastEvents(n int) []emitted {
	f.t.Helper()
	rows, err := f.db.R.Query(`SELECT payload FROM outbox ORDER BY seq DESC LIMIT $1`, n)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []emitted
	for rows.Next() {
		var p string
		var ev emitted
		if err := rows.Scan(&p); err != nil {
			f.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			f.t.Fatal(err)
		}
		out = append([]emitted{ev}, out...)
	}
	return out
}

func TestOnboarding(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, e db.Engine) {
		f := newFixture(t, e)
		admin := f.member("admin@example.com", accounts.RoleAdmin)
		member := f.member("new@example.com", accounts.RoleMember)

		if _, err := f.s.CreateQuestion(ctx, member, onboarding.Question{Key: "x", Kind: onboarding.Text, PromptJA: "?"}); errs.KindOf(err) != errs.KindForbidden {
			t.Fatalf("a member creating a question: %v", err)
		}
		for name, bad := range map[string]onboarding.Question{
			"bad key":     {Key: "Bad Key", Kind: onboarding.Text, PromptJA: "?"},
			"one choice":  {Key: "k", Kind: onboarding.Single, PromptJA: "?", Choices: []onboarding.Choice{{LabelJA: "a"}}},
			"bad kind":    {Key: "k", Kind: "essay", PromptJA: "?"},
			"no prompt":   {Key: "k", Kind: onboarding.Text},
			"bad scale":   {Key: "k", Kind: onboarding.Scale, PromptJA: "?", ScaleMin: 3, ScaleMax: 2},
			"bad interst": {Key: "k", Kind: onboarding.Single, PromptJA: "?", Choices: []onboarding.Choice{{LabelJA: "a", InterestKind: "planet", InterestRef: "x"}, {LabelJA: "b"}}},
		} {
			if _, err := f.s.CreateQuestion(ctx, admin, bad); errs.KindOf(err) != errs.KindInvalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}

		topics, err := f.s.CreateQuestion(ctx, admin, onboarding.Question{Key: "topics", Kind: onboarding.Multiple, PromptJA: "興味のあることは？", PromptEN: "What interests you?",
			Choices: []onboarding.Choice{
				{Value: "events", LabelJA: "イベント", LabelEN: "Events", InterestKind: onboarding.InterestTag, InterestRef: "イベント", AutoSegment: true},
				{Value: "support", LabelJA: "サポート", LabelEN: "Support", InterestKind: onboarding.InterestSpace, InterestRef: "support"},
				{Value: "news", LabelJA: "お知らせ", LabelEN: "News"},
			}})
		if err != nil {
			t.Fatal(err)
		}
		if topics.Choices[0].SegmentID == "" || topics.Choices[1].SegmentID != "" {
			t.Fatalf("segments: %+v", topics.Choices)
		}
		sg, err := f.seg.Get(ctx, admin, topics.Choices[0].SegmentID)
		if err != nil {
			t.Fatal(err)
		}
		def, _ := json.Marshal(sg.Definition)
		var got map[string]any
		json.Unmarshal(def, &got)
		if d := cmp.Diff(map[string]any{"trait": "interests", "op": "contains", "value": "tag:イベント"}, got); d != "" {
			t.Errorf("segment definition (-want +got):\n%s", d)
		}
		if _, err := f.s.CreateQuestion(ctx, admin, onboarding.Question{Key: "topics", Kind: onboarding.Text, PromptJA: "?"}); errs.KindOf(err) != errs.KindConflict {
			t.Errorf("a second question with the same key: %v", err)
		}
		role, err := f.s.CreateQuestion(ctx, admin, onboarding.Question{Key: "role", Kind: onboarding.Single, PromptJA: "役割", PromptEN: "Role",
			Choices: []onboarding.Choice{{Value: "dev", LabelJA: "開発者"}, {Value: "pm", LabelJA: "PM"}}})
		if err != nil {
			t.Fatal(err)
		}
		sat, err := f.s.CreateQuestion(ctx, admin, onboarding.Question{Key: "nps", Kind: onboarding.Scale, PromptJA: "期待度", PromptEN: "Expectation"})
		if err != nil {
			t.Fatal(err)
		}
		note, err := f.s.CreateQuestion(ctx, admin, onboarding.Question{Key: "note", Kind: onboarding.Text, PromptJA: "ひとこと", PromptEN: "A word"})
		if err != nil {
			t.Fatal(err)
		}
		qs, err := f.s.Questions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 4 || qs[0].Key != "topics" || qs[3].Key != "note" || len(qs[0].Choices) != 3 || qs[2].ScaleMax != 5 {
			t.Fatalf("questions: %+v", qs)
		}

		if err := f.s.Submit(ctx, member, []onboarding.Answer{{QuestionID: role.ID, Choices: []string{"dev", "pm"}}}); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("two choices to a single question: %v", err)
		}
		if err := f.s.Submit(ctx, member, []onboarding.Answer{{QuestionID: topics.ID, Choices: []string{"gardening"}}}); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("an unknown choice: %v", err)
		}
		nine := 9
		if err := f.s.Submit(ctx, member, []onboarding.Answer{{QuestionID: sat.ID, Scale: &nine}}); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("a scale answer out of range: %v", err)
		}

		four := 4
		if err := f.s.Submit(ctx, member, []onboarding.Answer{
			{QuestionID: topics.ID, Choices: []string{"events", "support", "news"}},
			{QuestionID: role.ID, Choices: []string{"dev"}},
			{QuestionID: sat.ID, Scale: &four},
			{QuestionID: note.ID, Text: "  よろしく  "},
		}); err != nil {
			t.Fatal(err)
		}
		evs := f.lastEvents(2)
		want := []emitted{
			{Type: "identify", UserID: member.MemberID, Traits: map[string]any{
				"onboarding_topics": []any{"events", "support", "news"}, "onboarding_role": "dev", "onboarding_nps": float64(4),
				"onboarding_note": "よろしく", "interests": []any{"tag:イベント", "space:support"}}},
			{Type: "track", Event: onboarding.SurveyAnswered, UserID: member.MemberID, Properties: map[string]any{
				"survey": "onboarding", "questions_answered": []any{"topics", "role", "nps", "note"}, "interests": []any{"tag:イベント", "space:support"}}},
		}
		if d := cmp.Diff(want, evs); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
		in, err := f.s.Interests(ctx, member.MemberID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(onboarding.Interests{Spaces: []string{"support"}, Tags: []string{"イベント"}}, in); d != "" {
			t.Errorf("interests (-want +got):\n%s", d)
		}

		// Changing the answers later replaces them.
		if err := f.s.Submit(ctx, member, []onboarding.Answer{{QuestionID: topics.ID, Choices: []string{"news"}}}); err != nil {
			t.Fatal(err)
		}
		ans, err := f.s.Answers(ctx, member.MemberID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ans) != 1 || !ans[topics.ID].Has("news") || ans[topics.ID].Has("events") {
			t.Errorf("answers after the change: %+v", ans)
		}
		if ev := f.lastEvents(2)[0]; len(ev.Traits["interests"].([]any)) != 0 {
			t.Errorf("interests after the change: %v", ev.Traits)
		}

		// The member's answers are theirs to download and to have erased.
		tables, err := f.s.ExportSubject(ctx, dsr.Subject{MemberIDs: []string{member.MemberID}})
		if err != nil || len(tables) != 1 || tables[0].Name != "onboarding_answers" {
			t.Fatalf("export: %+v, %v", tables, err)
		}
		if err := f.db.Tx(ctx, func(tx *sql.Tx) error {
			return f.s.EraseSubject(ctx, tx, dsr.Erasure{Subject: dsr.Subject{MemberIDs: []string{member.MemberID}}, Tombstone: "t"})
		}); err != nil {
			t.Fatal(err)
		}
		if ans, err := f.s.Answers(ctx, member.MemberID); err != nil || len(ans) != 0 {
			t.Fatalf("answers after the erasure: %+v, %v", ans, err)
		}

		if err := f.s.DeleteQuestion(ctx, admin, note.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteQuestion(ctx, admin, note.ID); errs.KindOf(err) != errs.KindNotFound {
			t.Errorf("deleting twice: %v", err)
		}
	})
}
