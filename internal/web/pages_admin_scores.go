package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// scoreRoutes are the staff pages of score models: marketers build them, staff who see members
// read them.
func (s *Web) scoreRoutes(handle func(string, pageHandler)) {
	handle("GET /admin/scores", s.staff(accounts.PermViewMembers, s.adminScores))
	handle("GET /admin/scores/new", s.staff(accounts.PermManageMarketing, s.newScoreModel))
	handle("POST /admin/scores", s.staff(accounts.PermManageMarketing, s.createScoreModel))
	handle("GET /admin/scores/{id}", s.staff(accounts.PermManageMarketing, s.editScoreModel))
	handle("POST /admin/scores/{id}", s.staff(accounts.PermManageMarketing, s.updateScoreModel))
	handle("POST /admin/scores/{id}/delete", s.staff(accounts.PermManageMarketing, s.deleteScoreModel))
}

// scoresData is the list of score models.
type scoresData struct {
	Models  []score.Model
	Reached map[string]map[string]int64 // model id → threshold name → people at it
	CanEdit bool
}

// Reach is how many people are at threshold name of model modelID.
func (d scoresData) Reach(modelID, name string) int64 { return d.Reached[modelID][name] }

func (s *Web) adminScores(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.scores"), "scores"
	list, err := s.scores.List(r.Context(), v.principal())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	reached, err := s.scores.Reached(r.Context(), v.principal())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	switch r.URL.Query().Get("notice") {
	case "created":
		v.Notice = v.T("scores.created")
	case "saved":
		v.Notice = v.T("scores.saved")
	case "deleted":
		v.Notice = v.T("scores.deleted")
	}
	v.Data = scoresData{Models: list, Reached: reached, CanEdit: accounts.Allowed(v.principal(), accounts.PermManageMarketing)}
	s.render(w, r, 0, "admin-scores", v)
}

// The form has room for this many more rules and thresholds than the model holds.
const (
	scoreRuleSlots      = 5
	scoreThresholdSlots = 3
)

// scoreFormData is the create / edit form of a model.
type scoreFormData struct {
	ID         string // "" when new
	Rules      []int  // slot numbers
	Thresholds []int
	Types      []string
	Ops        []segment.Op
	Pers       []string // the cap periods offered
}

// scorePers are the cap periods the form offers (the API takes any fixed ISO 8601 duration).
var scorePers = []string{"PT1H", "P1D", "P7D", "P30D"}

func (s *Web) scoreForm(w http.ResponseWriter, r *http.Request, v *view, id string, rules, thresholds int, err error) {
	v.Title, v.Section = v.T("scores.new_title"), "scores"
	if id != "" {
		v.Title = v.T("scores.edit_title")
	}
	d := scoreFormData{ID: id, Rules: slots(max(rules+2, scoreRuleSlots)), Thresholds: slots(max(thresholds+1, scoreThresholdSlots)),
		Types: []string{"track", "page", "screen", "identify", "group"},
		Ops:   []segment.Op{segment.OpEq, segment.OpNeq, segment.OpContains, segment.OpIn, segment.OpGt, segment.OpGte, segment.OpLt, segment.OpLte, segment.OpExists},
		Pers:  slices.Clone(scorePers)}
	// A period the API set that the form does not offer stays selectable.
	for k, vals := range v.Form.values {
		if !strings.HasSuffix(k, "_per") {
			continue
		}
		for _, p := range vals {
			if p != "" && !slices.Contains(d.Pers, p) {
				d.Pers = append(d.Pers, p)
			}
		}
	}
	slices.Sort(d.Pers[len(scorePers):])
	v.Data = d
	if e, ok := errAs(err); ok {
		c := *e
		c.Field = scoreFormField(e.Field, v.Form.values)
		err = &c
	}
	if s.formFailed(w, r, v, "admin-score", err) {
		return
	}
	s.render(w, r, 0, "admin-score", v)
}

var rulePath = regexp.MustCompile(`^(rules|thresholds)\[(\d+)\](?:\.(\w+))?(?:\.|\[|$)`)

// scoreFormField maps a model's field path (rules[1].cap.per) to the form field that holds it
// (r3_cap: rules are numbered among the filled rows, the form counts every row).
func scoreFormField(path string, vals url.Values) string {
	m := rulePath.FindStringSubmatch(path)
	if m == nil {
		return path
	}
	n, _ := strconv.Atoi(m[2])
	prefix, rows := "r", vals["rule_row"]
	if m[1] == "thresholds" {
		prefix, rows = "t", vals["threshold_row"]
	}
	if n >= len(rows) {
		return ""
	}
	field := m[3]
	switch field {
	case "where":
		field = "prop"
	case "":
		field = "name"
		if prefix == "r" {
			field = "event"
		}
	}
	return prefix + rows[n] + "_" + field
}

// scoreInput reads the form into a model. Rows left empty are skipped; the numbers of the rows
// used are put back in the form (rule_row, threshold_row) so errors land on the right row.
func scoreInput(r *http.Request) score.Input {
	f := r.PostForm
	in := score.Input{Name: f.Get("name"), Description: f.Get("description"), HalfLife: strings.TrimSpace(f.Get("half_life"))}
	if c := strings.TrimSpace(f.Get("cap")); c != "" {
		in.Cap = json.RawMessage(numberJSON(c))
	}
	var rules []map[string]any
	for i := range 50 {
		k := func(name string) string { return fmt.Sprintf("r%d_%s", i, name) }
		if _, ok := f[k("event")]; !ok {
			break
		}
		event, points := strings.TrimSpace(f.Get(k("event"))), strings.TrimSpace(f.Get(k("points")))
		if event == "" && points == "" {
			continue
		}
		rule := map[string]any{"points": json.RawMessage(numberJSON(points))}
		if event != "" {
			rule["event"] = event
		}
		if typ := f.Get(k("type")); typ != "" && typ != "track" {
			rule["type"] = typ
		}
		var where []any
		if prop := strings.TrimSpace(f.Get(k("prop"))); prop != "" {
			flt := map[string]any{"property": prop, "op": f.Get(k("op"))}
			if op := segment.Op(f.Get(k("op"))); op != segment.OpExists && op != segment.OpNotExists {
				flt["value"] = formValue(op, f.Get(k("value")))
			}
			where = append(where, flt)
		}
		// Filters beyond the first, which the form does not show, are kept as they were.
		var more []any
		if json.Unmarshal([]byte(f.Get(k("more"))), &more) == nil {
			where = append(where, more...)
		}
		if len(where) > 0 {
			rule["where"] = where
		}
		if c := strings.TrimSpace(f.Get(k("cap"))); c != "" {
			capm := map[string]any{"points": json.RawMessage(numberJSON(c))}
			if per := f.Get(k("per")); per != "" {
				capm["per"] = per
			}
			rule["cap"] = capm
		}
		rules = append(rules, rule)
		f.Add("rule_row", strconv.Itoa(i))
	}
	in.Rules, _ = json.Marshal(rules)
	var thresholds []map[string]any
	for i := range 50 {
		k := func(name string) string { return fmt.Sprintf("t%d_%s", i, name) }
		if _, ok := f[k("name")]; !ok {
			break
		}
		name, value := strings.TrimSpace(f.Get(k("name"))), strings.TrimSpace(f.Get(k("value")))
		if name == "" && value == "" {
			continue
		}
		t := map[string]any{"name": name}
		if value != "" {
			t["value"] = json.RawMessage(numberJSON(value))
		}
		thresholds = append(thresholds, t)
		f.Add("threshold_row", strconv.Itoa(i))
	}
	in.Thresholds, _ = json.Marshal(thresholds)
	return in
}

// numberJSON is s as a JSON number when it is one, else as a JSON string (which the model then
// refuses, naming the field).
func numberJSON(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// formValue is what a filter's value box means for op: numbers for comparisons, a list split
// at commas for in, true and false as booleans, else the text.
func formValue(op segment.Op, s string) any {
	s = strings.TrimSpace(s)
	one := func(x string) any {
		x = strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f
		}
		if x == "true" || x == "false" {
			return x == "true"
		}
		return x
	}
	switch op {
	case segment.OpIn:
		var out []any
		for _, x := range strings.Split(s, ",") {
			out = append(out, one(x))
		}
		return out
	case segment.OpContains:
		return s
	}
	return one(s)
}

// modelForm fills the form with m, for editing.
func modelForm(m score.Model) *form {
	vals := url.Values{"name": {m.Name}, "description": {m.Description}, "half_life": {m.HalfLife}}
	if m.Cap != nil {
		vals.Set("cap", strconv.FormatFloat(*m.Cap, 'f', -1, 64))
	}
	for i, r := range m.Rules {
		k := func(name string) string { return fmt.Sprintf("r%d_%s", i, name) }
		vals.Set(k("event"), r.Event)
		vals.Set(k("type"), r.Type)
		vals.Set(k("points"), strconv.FormatFloat(r.Points, 'f', -1, 64))
		if len(r.Where) > 0 {
			w := r.Where[0]
			vals.Set(k("prop"), w.Name)
			vals.Set(k("op"), string(w.Op))
			vals.Set(k("value"), filterText(w.Value))
			if len(r.Where) > 1 {
				more := make([]any, 0, len(r.Where)-1)
				for _, x := range r.Where[1:] {
					more = append(more, segment.FilterJSON(x))
				}
				b, _ := json.Marshal(more)
				vals.Set(k("more"), string(b))
			}
		}
		if r.Cap != nil {
			vals.Set(k("cap"), strconv.FormatFloat(r.Cap.Points, 'f', -1, 64))
			vals.Set(k("per"), r.Cap.Per)
		}
	}
	for i, t := range m.Thresholds {
		vals.Set(fmt.Sprintf("t%d_name", i), t.Name)
		vals.Set(fmt.Sprintf("t%d_value", i), strconv.FormatFloat(t.Value, 'f', -1, 64))
	}
	return &form{values: vals, errors: map[string]string{}}
}

// filterText is a filter's value as the form's value box shows it.
func filterText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = filterText(x)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func (s *Web) newScoreModel(w http.ResponseWriter, r *http.Request, v *view) {
	v.Form = newForm(r)
	s.scoreForm(w, r, v, "", 0, 0, nil)
}

func (s *Web) createScoreModel(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	in := scoreInput(r)
	if _, err := s.scores.Create(r.Context(), v.principal(), in); err != nil {
		s.scoreForm(w, r, v, "", len(r.PostForm["rule_row"]), len(r.PostForm["threshold_row"]), err)
		return
	}
	s.redirect(w, r, "/admin/scores?notice=created")
}

func (s *Web) editScoreModel(w http.ResponseWriter, r *http.Request, v *view) {
	m, err := s.scores.Get(r.Context(), v.principal(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Form = modelForm(m)
	s.scoreForm(w, r, v, m.ID, len(m.Rules), len(m.Thresholds), nil)
}

func (s *Web) updateScoreModel(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	v.Form = newForm(r)
	id := r.PathValue("id")
	if _, err := s.scores.Update(r.Context(), v.principal(), id, scoreInput(r)); err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
			s.fail(w, r, v, err)
			return
		}
		s.scoreForm(w, r, v, id, len(r.PostForm["rule_row"]), len(r.PostForm["threshold_row"]), err)
		return
	}
	s.redirect(w, r, "/admin/scores?notice=saved")
}

func (s *Web) deleteScoreModel(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.scores.Delete(r.Context(), v.principal(), r.PathValue("id")); err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindConflict {
			v.Title, v.Section = v.T("admin.nav.scores"), "scores"
			list, lerr := s.scores.List(r.Context(), v.principal())
			if lerr != nil {
				s.fail(w, r, v, lerr)
				return
			}
			reached, _ := s.scores.Reached(r.Context(), v.principal())
			v.Data = scoresData{Models: list, Reached: reached, CanEdit: true}
			v.Form = newForm(nil)
			v.Form.alert = v.T("scores.in_use")
			s.render(w, r, http.StatusConflict, "admin-scores", v)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/scores?notice=deleted")
}

// scoreCard is one score on the customer 360: the value, the level reached and how far along
// the model's range it is.
type scoreCard struct {
	ID, Name string
	Value    float64
	Level    string  // "" when no threshold is reached
	Next     string  // the next threshold's name, "" when none
	NextAt   float64 // its value
	Pct      int     // of the bar: the value against the cap, else the highest threshold
	Marks    []scoreMark
}

// scoreMark is a threshold on the bar.
type scoreMark struct {
	Name string
	Pct  int
}

// scoreCards are root's scores under every model, for the 360.
func (s *Web) scoreCards(r *http.Request, p accounts.Principal, root string) ([]scoreCard, error) {
	models, err := s.scores.List(r.Context(), p)
	if err != nil || len(models) == 0 {
		return nil, err
	}
	vals, err := s.scores.Of(r.Context(), p, root)
	if err != nil {
		return nil, err
	}
	var out []scoreCard
	for _, m := range models {
		ps := vals[m.ID]
		c := scoreCard{ID: m.ID, Name: m.Name, Value: ps.Value}
		if ps.Level != nil {
			c.Level = *ps.Level
		}
		top := 0.0
		if m.Cap != nil {
			top = *m.Cap
		}
		for _, t := range m.Thresholds {
			top = max(top, t.Value*1.25)
			if c.Next == "" && t.Value > ps.Value {
				c.Next, c.NextAt = t.Name, t.Value
			}
		}
		top = max(top, ps.Value)
		pct := func(x float64) int {
			if top <= 0 {
				return 0
			}
			return int(math.Round(100 * max(0, min(x, top)) / top))
		}
		c.Pct = pct(ps.Value)
		for _, t := range m.Thresholds {
			if t.Value > 0 {
				c.Marks = append(c.Marks, scoreMark{Name: t.Name, Pct: pct(t.Value)})
			}
		}
		out = append(out, c)
	}
	return out, nil
}
