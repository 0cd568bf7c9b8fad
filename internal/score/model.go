package score

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// Model is a score model: points per event, with caps, decay and named thresholds.
type Model struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Rules       []Rule      `json:"rules"`
	Cap         *float64    `json:"cap"`       // the highest score; nil when none
	HalfLife    string      `json:"half_life"` // ISO 8601 duration; "" for no decay
	Thresholds  []Threshold `json:"thresholds"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	// Recomputing is true while the model's scores are being rebuilt from the event log after it
	// was created or edited.
	Recomputing bool `json:"recomputing"`

	halfLifeMs int64
}

// Rule awards Points for each event it matches: a track event named Event, or an event of Type
// (a page or screen named Event when both are given), whose properties pass every Where filter.
type Rule struct {
	Event  string
	Type   string
	Where  []segment.ValueCond
	Points float64
	Cap    *RuleCap
}

// MarshalJSON writes the rule in the form Parse reads.
func (r Rule) MarshalJSON() ([]byte, error) {
	m := map[string]any{"points": r.Points}
	if r.Event != "" {
		m["event"] = r.Event
	}
	if r.Type != "" {
		m["type"] = r.Type
	}
	if len(r.Where) > 0 {
		w := make([]map[string]any, len(r.Where))
		for i, f := range r.Where {
			w[i] = segment.FilterJSON(f)
		}
		m["where"] = w
	}
	if r.Cap != nil {
		m["cap"] = r.Cap
	}
	return json.Marshal(m)
}

// RuleCap bounds what one rule awards one profile: at most Points (in absolute value) per
// period Per, fixed windows counted from the Unix epoch in UTC, or ever when Per is "".
type RuleCap struct {
	Points float64 `json:"points"`
	Per    string  `json:"per,omitempty"`

	perMs int64
}

// Threshold is a named level: a profile reaches it when its score is at least Value.
type Threshold struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Limits on a model.
const (
	maxRules      = 50
	maxThresholds = 20
	maxWhere      = 20
	maxPoints     = 1e6
	maxNameLen    = 200
	maxDescLen    = 2000
)

// eventTypes are the event types a rule may name.
var eventTypes = []string{"track", "page", "screen", "identify", "group"}

// loopEvents are the events that never award points: the ones scores and segments emit
// themselves. Counting them could feed a score back into itself (points for crossing a
// threshold, or for entering a segment defined on the score), so a rule may not name them and a
// rule on every track event skips them.
var loopEvents = []string{EventThresholdCrossed, segment.EventEntered, segment.EventExited}

// Input is a model as the API and the admin page send it.
type Input struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Rules       json.RawMessage `json:"rules"`
	Cap         json.RawMessage `json:"cap"`
	HalfLife    string          `json:"half_life"`
	Thresholds  json.RawMessage `json:"thresholds"`
}

func bad(path, format string, args ...any) error { return errs.Invalid(path, format, args...) }

// badBecause is bad with a reason code, by which the web shell words the message in the
// reader's language (its args are the message's).
func badBecause(path, reason, format string, args ...any) error {
	return errs.Because(errs.Invalid(path, format, args...), reason, args...)
}

// text checks a free text field.
func text(s, path string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", badBecause(path, "score_required", "is required")
	}
	if utf8.RuneCountInString(s) > max || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", badBecause(path, "score_text_long", "must be text of at most %d characters", max)
	}
	return s, nil
}

// Parse checks in and returns the model it describes (without id and times). Errors are
// errs.Invalid naming the field path: rules[1].cap.per, thresholds[0].value.
func Parse(in Input) (Model, error) {
	var m Model
	var err error
	if m.Name, err = text(in.Name, "name", true, maxNameLen); err != nil {
		return Model{}, err
	}
	if m.Description, err = text(in.Description, "description", false, maxDescLen); err != nil {
		return Model{}, err
	}
	var rules []json.RawMessage
	if len(in.Rules) == 0 || string(in.Rules) == "null" || string(in.Rules) == "[]" {
		return Model{}, badBecause("rules", "score_no_rules", "give at least one rule")
	}
	if err := json.Unmarshal(in.Rules, &rules); err != nil {
		return Model{}, bad("rules", "must be a list of rules")
	}
	if len(rules) == 0 || len(rules) > maxRules {
		return Model{}, bad("rules", "give 1 to %d rules", maxRules)
	}
	for i, raw := range rules {
		r, err := parseRule(raw, fmt.Sprintf("rules[%d]", i))
		if err != nil {
			return Model{}, err
		}
		m.Rules = append(m.Rules, r)
	}
	if len(in.Cap) > 0 && string(in.Cap) != "null" {
		var c float64
		if err := json.Unmarshal(in.Cap, &c); err != nil || c <= 0 || c > 1e12 {
			return Model{}, badBecause("cap", "score_positive", "must be a number above 0, or null for no cap")
		}
		m.Cap = &c
	}
	if hl := strings.TrimSpace(in.HalfLife); hl != "" {
		ms, err := fixedDuration(hl, "half_life")
		if err != nil {
			return Model{}, err
		}
		if ms < 60_000 {
			return Model{}, badBecause("half_life", "score_half_life_short", "must be at least a minute (PT1M)")
		}
		m.HalfLife, m.halfLifeMs = hl, ms
	}
	if len(in.Thresholds) > 0 && string(in.Thresholds) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(in.Thresholds, &list); err != nil {
			return Model{}, bad("thresholds", "must be a list of {\"name\",\"value\"}")
		}
		if len(list) > maxThresholds {
			return Model{}, bad("thresholds", "at most %d thresholds", maxThresholds)
		}
		for i, raw := range list {
			p := fmt.Sprintf("thresholds[%d]", i)
			var t struct {
				Name  *string         `json:"name"`
				Value json.RawMessage `json:"value"`
			}
			if err := strictDecode(raw, &t); err != nil {
				return Model{}, bad(p, "must be {\"name\",\"value\"}")
			}
			if t.Name == nil {
				return Model{}, badBecause(p+".name", "score_required", "is required")
			}
			name, err := text(*t.Name, p+".name", true, 100)
			if err != nil {
				return Model{}, err
			}
			var value float64
			if len(t.Value) == 0 {
				return Model{}, badBecause(p+".value", "score_required", "is required")
			}
			if err := json.Unmarshal(t.Value, &value); err != nil || math.Abs(value) > 1e12 {
				return Model{}, badBecause(p+".value", "score_number", "must be a number")
			}
			for _, o := range m.Thresholds {
				if o.Name == name {
					return Model{}, badBecause(p+".name", "score_threshold_name_twice", "%s is named twice", name)
				}
				if o.Value == value {
					return Model{}, badBecause(p+".value", "score_threshold_value_twice", "%v is the value of %s too", o.Value, o.Name)
				}
			}
			m.Thresholds = append(m.Thresholds, Threshold{Name: name, Value: value})
		}
		// Lowest first: a profile's level is the last threshold its score reaches.
		slices.SortFunc(m.Thresholds, func(a, b Threshold) int { return cmpFloat(a.Value, b.Value) })
	}
	if m.Thresholds == nil {
		m.Thresholds = []Threshold{}
	}
	return m, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// strictDecode decodes raw into v, refusing fields v does not have.
func strictDecode(raw json.RawMessage, v any) error {
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func parseRule(raw json.RawMessage, path string) (Rule, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Rule{}, bad(path, "must be a JSON object")
	}
	allowed := []string{"event", "type", "where", "points", "cap"}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return Rule{}, bad(path+"."+k, "is not a field of a rule; use %s", strings.Join(allowed, ", "))
		}
	}
	var r Rule
	str := func(key string) (string, error) {
		raw, ok := m[key]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", bad(path+"."+key, "must be a string")
		}
		return text(s, path+"."+key, false, maxNameLen)
	}
	var err error
	if r.Event, err = str("event"); err != nil {
		return Rule{}, err
	}
	if r.Type, err = str("type"); err != nil {
		return Rule{}, err
	}
	if r.Event == "" && r.Type == "" {
		return Rule{}, badBecause(path+".event", "score_event_or_type", "give the event name, the type, or both")
	}
	if r.Type != "" && !slices.Contains(eventTypes, r.Type) {
		return Rule{}, bad(path+".type", "must be one of %s", strings.Join(eventTypes, ", "))
	}
	if r.Event != "" && r.Type != "" && r.Type != "track" && r.Type != "page" && r.Type != "screen" {
		return Rule{}, badBecause(path+".event", "score_named_type", "only track events, pages and screens have names")
	}
	if slices.Contains(loopEvents, r.Event) && (r.Type == "" || r.Type == "track") {
		return Rule{}, badBecause(path+".event", "score_loop_event", "%s is emitted by segments and scores themselves and awards no points", r.Event)
	}
	if raw, ok := m["where"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return Rule{}, bad(path+".where", "must be a list of property filters")
		}
		if len(list) > maxWhere {
			return Rule{}, bad(path+".where", "at most %d property filters", maxWhere)
		}
		for i, f := range list {
			vc, err := segment.ParseFilter(f, fmt.Sprintf("%s.where[%d]", path, i))
			if err != nil {
				return Rule{}, err
			}
			r.Where = append(r.Where, vc)
		}
	}
	raw, ok := m["points"]
	if !ok {
		return Rule{}, badBecause(path+".points", "score_required", "is required")
	}
	if err := json.Unmarshal(raw, &r.Points); err != nil || r.Points == 0 || math.Abs(r.Points) > maxPoints {
		return Rule{}, badBecause(path+".points", "score_points", "must be a number other than 0, at most %d either way", int64(maxPoints))
	}
	if raw, ok := m["cap"]; ok && string(raw) != "null" {
		cp := path + ".cap"
		var c struct {
			Points json.RawMessage `json:"points"`
			Per    *string         `json:"per"`
		}
		if err := strictDecode(raw, &c); err != nil {
			return Rule{}, bad(cp, "must be {\"points\",\"per\"}")
		}
		var pts float64
		if err := json.Unmarshal(c.Points, &pts); err != nil || pts <= 0 || pts > 1e12 {
			return Rule{}, badBecause(cp+".points", "score_positive", "must be a number above 0")
		}
		r.Cap = &RuleCap{Points: pts}
		if c.Per != nil && strings.TrimSpace(*c.Per) != "" {
			ms, err := fixedDuration(strings.TrimSpace(*c.Per), cp+".per")
			if err != nil {
				return Rule{}, err
			}
			r.Cap.Per, r.Cap.perMs = strings.TrimSpace(*c.Per), ms
		}
	}
	return r, nil
}

// fixedDuration reads an ISO 8601 duration of fixed length (weeks, days, hours, minutes,
// seconds) in milliseconds. Years and months are refused: their length varies, and decay and
// cap windows must be the same length every time.
func fixedDuration(s, path string) (int64, error) {
	d, err := segment.ParseDuration(s)
	if err != nil {
		return 0, badBecause(path, "score_duration", "must be an ISO 8601 duration such as P30D or PT12H")
	}
	if d.Years != 0 || d.Months != 0 {
		return 0, badBecause(path, "score_duration_fixed", "must be in weeks, days, hours, minutes or seconds (P30D rather than P1M): months and years vary in length")
	}
	ms := (int64(d.Weeks*7+d.Days)*86400 + int64(d.Hours)*3600 + int64(d.Minutes)*60 + int64(d.Seconds)) * 1000
	if ms <= 0 {
		return 0, bad(path, "must be longer than zero")
	}
	return ms, nil
}

// Matches reports whether the rule counts an event of type typ named name with properties
// props, recorded at.
func (r *Rule) Matches(typ, name string, props map[string]any, at time.Time) bool {
	switch {
	case !r.wants(typ, name):
		return false
	case r.Type != "" && r.Type != typ:
		return false
	case r.Type == "" && typ != "track":
		return false
	case r.Event != "" && r.Event != name:
		return false
	}
	for _, w := range r.Where {
		if !segment.MatchFilter(w, props, at) {
			return false
		}
	}
	return true
}

// wants reports whether the rule may match an event of type typ named name (properties aside).
func (r *Rule) wants(typ, name string) bool {
	if typ == "track" && slices.Contains(loopEvents, name) {
		return false
	}
	return (r.Type == typ || (r.Type == "" && typ == "track")) && (r.Event == "" || r.Event == name)
}

// Level returns the highest threshold value reaches, and false when it reaches none.
func (m *Model) Level(value float64) (Threshold, bool) {
	var out Threshold
	ok := false
	for _, t := range m.Thresholds {
		if value >= t.Value {
			out, ok = t, true
		}
	}
	return out, ok
}

// rulesJSON is the canonical JSON of the rules, as stored.
func rulesJSON(rules []Rule) (string, error) {
	b, err := json.Marshal(rules)
	return string(b), err
}
