package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// TestScoreModelsPages: staff build a score model in the admin form, which counts the customer's
// past events at once; a mistake is shown on its row in the reader's language; the edit form
// comes back filled; the customer 360 shows the score with its level; and a model a segment
// uses is not deleted.
func TestScoreModelsPages(t *testing.T) {
	s := newSite(t)
	c := s.seedCustomer()
	admin := s.admin("ja")
	admin.get("/admin").expect(t, http.StatusOK, `href="/admin/scores"`, "スコア")
	admin.get("/admin/scores").expect(t, http.StatusOK, "スコアモデルはまだありません", `href="/admin/scores/new"`)
	admin.get("/admin/scores/new").expect(t, http.StatusOK, `name="r0_event"`, `name="t0_name"`, `name="half_life"`)

	form := url.Values{"name": {"エンゲージメント"}, "description": {"活動度"}, "half_life": {"P30D"}, "cap": {"100"},
		"r0_event": {"Post Created"}, "r0_type": {"track"}, "r0_points": {"10"}, "r0_cap": {"30"}, "r0_per": {"P1D"},
		"r1_event": {""}, "r1_points": {""},
		"r2_event": {""}, "r2_type": {"page"}, "r2_points": {"5"}, "r2_prop": {"path"}, "r2_op": {"contains"}, "r2_value": {"/pricing"},
		"t0_name": {"Active"}, "t0_value": {"12"}, "t1_name": {""}, "t1_value": {""}, "t2_name": {"Champion"}, "t2_value": {"50"}}
	// A month is no fixed period: the error lands on the third row's cap, in Japanese.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("r2_cap", "5")
	bad.Set("r2_per", "P1M")
	admin.post("/admin/scores", bad).expect(t, http.StatusUnprocessableEntity, "期間は週・日・時間・分・秒で指定してください", `value="エンゲージメント"`)
	bad = url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("t2_value", "12")
	p := admin.post("/admin/scores", bad)
	p.expect(t, http.StatusUnprocessableEntity, "12 は「Active」と同じ値です")
	if !regexp.MustCompile(`(?s)t2_value.{0,400}field-error`).MatchString(p.Body) {
		t.Fatalf("the threshold error is not on its row:\n%s", excerpt(p.Body))
	}

	admin.post("/admin/scores", form).redirectsTo(t, "/admin/scores?notice=created")
	list := admin.get("/admin/scores?notice=created")
	list.expect(t, http.StatusOK, "エンゲージメント", "+10", "Post Created", "1 日あたり最大 30", "半減期 30 日", "Active ≥ 12", "1 人", "Champion ≥ 50")
	id := regexp.MustCompile(`id="model-([0-9A-Z]+)"`).FindStringSubmatch(list.Body)
	if id == nil {
		t.Fatal("no model in the list")
	}
	// The customer posted once and viewed the pricing page once, two hours ago: 10 + 5, a
	// little decayed.
	scoreOf := func() string {
		p := admin.get("/admin/customers/" + c.root)
		p.expect(t, http.StatusOK, `id="scores"`, "エンゲージメント", "Active", "次: Champion(50)")
		v := regexp.MustCompile(`score-card-value">([0-9.]+)<`).FindStringSubmatch(p.Body)
		if v == nil {
			t.Fatalf("no score on the 360:\n%s", excerpt(p.Body))
		}
		return v[1]
	}
	if v := scoreOf(); v != "14.97" {
		t.Fatalf("score %s, want 14.97 (15 two hours into a 30-day half-life)", v)
	}
	edit := admin.get("/admin/scores/" + id[1])
	edit.expect(t, http.StatusOK, `value="Post Created"`, `value="/pricing"`, `<option value="P1D" selected>`, `value="Champion"`, `value="P30D"`)

	// Worth more now, but capped at 30 a day: saved, and recomputed from the same events.
	form.Set("r0_points", "40")
	admin.post("/admin/scores/"+id[1], form).redirectsTo(t, "/admin/scores?notice=saved")
	if v := scoreOf(); v != "34.93" {
		t.Fatalf("score after the edit %s, want 34.93", v)
	}

	// In use by a segment, it stays.
	sg := segment.New(segment.Deps{DB: s.db, Outbox: backbone.NewOutbox(s.db), Identity: s.idg})
	if _, err := sg.Create(context.Background(), accounts.System(), "Engaged", []byte(`{"score":"`+id[1]+`","op":"gte","value":100}`)); err != nil {
		t.Fatal(err)
	}
	admin.post("/admin/scores/"+id[1]+"/delete", nil).expect(t, http.StatusConflict, "セグメントで使われています")
	if !strings.Contains(admin.get("/admin/scores").Body, id[1]) {
		t.Fatal("a model in use was deleted")
	}

	// A model the API made with a period the form does not offer and two filters: the edit form
	// offers its period and keeps the second filter.
	api, err := s.scores.Create(context.Background(), accounts.System(), score.Input{Name: "API", Rules: []byte(`[{"event":"Order Completed","points":5,
		"where":[{"property":"total","op":"gte","value":1000},{"property":"currency","op":"eq","value":"JPY"}],"cap":{"points":20,"per":"P2D"}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	admin.get("/admin/scores/"+api.ID).expect(t, http.StatusOK, `<option value="P2D" selected>`, `value="total"`,
		`value="[{&#34;op&#34;:&#34;eq&#34;,&#34;property&#34;:&#34;currency&#34;,&#34;value&#34;:&#34;JPY&#34;}]"`)

	// A member sees none of it.
	m := s.member("hana@example.com", "ja")
	m.get("/admin/scores").expect(t, http.StatusForbidden)
}
