package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Node is one node of a segment definition: exactly one of its fields is set. All, Any and Not
// combine nodes; the others are conditions on a root profile (its whole merge family).
//
// A new kind of condition is one more field here, a case in parser.node,
// canonical, compiler.node and Eval, the facts it reads in loadFacts (and the wants that say
// when to read them), a case in the property test's generator, and the events that change it
// in the consumer.
type Node struct {
	All      []Node
	Any      []Node
	Not      *Node
	Trait    *ValueCond    // a trait's current value
	Computed *ValueCond    // a computed attribute, see Computed*
	Event    *EventCond    // counted track events
	Contract *ContractCond // a CRM contract of the profile's accounts
	Tickets  *CountCond    // open CRM tickets (status open or pending)
	Consent  *ConsentCond  // the current consent status of a channel and purpose
	Score    *ScoreCond    // the current score under a score model
	Segment  string        // membership of another segment (its definition, evaluated inline)

	// Community facts, read from the community's own tables through the member's user_id
	// identifier (see docs/segments.md for why state, not events).
	SpaceMember     string          // follows the space with this id or slug
	Attended        *AttendedCond   // checked in at a community event
	AcceptedAnswers *CountCond      // replies accepted as the answer to someone else's question
	Unanswered      *UnansweredCond // own questions with no accepted answer and no reply from anyone else

	ref *Node // the definition of Segment, set by Expand
}

// Op is a comparison.
type Op string

// The comparisons.
const (
	OpEq          Op = "eq"
	OpNeq         Op = "neq"
	OpGt          Op = "gt"
	OpGte         Op = "gte"
	OpLt          Op = "lt"
	OpLte         Op = "lte"
	OpIn          Op = "in"
	OpContains    Op = "contains"
	OpExists      Op = "exists"
	OpNotExists   Op = "not_exists"
	OpBefore      Op = "before"
	OpAfter       Op = "after"
	OpWithinLast  Op = "within_last"
	OpMoreThanAgo Op = "more_than_ago"
)

var valueOps = []Op{OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpIn, OpContains, OpExists, OpNotExists, OpBefore, OpAfter, OpWithinLast, OpMoreThanAgo}

var countOps = []Op{OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte}

var timeOps = []Op{OpExists, OpNotExists, OpBefore, OpAfter, OpWithinLast, OpMoreThanAgo}

// ValueCond compares a named value (a trait, a computed attribute or an event property).
// Value is a string, float64 or bool for eq and neq; a float64 for gt … lte; a non-empty list of
// those for in; a string for contains; a time (YYYY-MM-DDTHH:MM:SSZ) for before and after; a
// Duration for within_last and more_than_ago; nil for exists and not_exists.
type ValueCond struct {
	Name  string
	Op    Op
	Value any
}

// EventCond matches profiles with Count track events named Name (default: at least one),
// within the last Within when set, whose properties pass every Where filter.
type EventCond struct {
	Name   string
	Where  []ValueCond
	Count  CountCond
	Within *Duration
}

// CountCond compares a count with an integer.
type CountCond struct {
	Op    Op
	Value int64
}

// ContractCond matches profiles whose accounts hold a contract for Product (its plan; any when
// ""), in Status ("active" by default, "" for any), renewing within RenewsWithin when set, and
// started within the last StartedWithin when set (dates in UTC).
type ContractCond struct {
	Product       string
	Status        string
	RenewsWithin  *Duration
	StartedWithin *Duration
}

// AttendedCond matches profiles that checked in at the community event Event (a meetup id; any
// event when ""), within the last Within when set (by the time of the check-in).
type AttendedCond struct {
	Event  string
	Within *Duration
}

// UnansweredCond compares the number of the person's questions that are unanswered — visible,
// with no accepted answer and no visible reply from anyone but the asker — and, when OlderThan
// is set, were asked before now minus OlderThan.
type UnansweredCond struct {
	Count     CountCond
	OlderThan *Duration
}

// ConsentCond matches profiles whose current consent status for Channel and Purpose is Status
// (opted_in by default). No record is unknown.
type ConsentCond struct {
	Channel, Purpose, Status string
}

// ScoreCond compares the current score of a profile under score model Model (internal/score):
// the sum over its merge family of each profile's decayed score, capped as the model says; 0
// when it has none (or the model does not exist).
type ScoreCond struct {
	Model string
	Op    Op
	Value float64
}

// The computed attributes: times (Unix ms in profile_counts) and counters.
const (
	ComputedFirstSeen             = "first_seen"
	ComputedLastSeen              = "last_seen"
	ComputedLastCommunityActivity = "last_community_activity"
	ComputedEvents                = "events"
	ComputedPageViews             = "page_views"
	ComputedPurchases             = "purchases"
	ComputedLastLogin             = "last_login" // the latest EventLoggedIn
)

// EventLoggedIn is the event a log-in emits (internal/accounts), which last_login reads.
const EventLoggedIn = "Member Logged In"

func computedIsTime(name string) bool {
	return name == ComputedFirstSeen || name == ComputedLastSeen || name == ComputedLastCommunityActivity || name == ComputedLastLogin
}

var computedNames = []string{ComputedFirstSeen, ComputedLastSeen, ComputedLastCommunityActivity, ComputedLastLogin, ComputedEvents,
	ComputedPageViews, ComputedPurchases}

// Limits on a definition, so that one cannot make a statement no engine can run.
const (
	maxDepth      = 16
	maxConditions = 200
	maxInValues   = 100
	maxNameLen    = 200
)

// TimeLayout is how times are written in definitions and compared in traits and properties: UTC
// to the second. A trait or property holds a time when it is a string in this form or a date
// (YYYY-MM-DD, midnight UTC).
const TimeLayout = "2006-01-02T15:04:05Z"

var (
	timeRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
	dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// Parse reads a definition in its canonical JSON form. Errors are errs.Invalid naming the JSON
// path of the bad node, starting at "definition" (e.g. definition.all[1].count.op).
func Parse(raw []byte) (Node, error) {
	p := parser{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return Node{}, errs.Invalid("definition", "give a definition")
	}
	return p.node(json.RawMessage(raw), "definition", 0)
}

type parser struct{ conditions int }

func bad(path, format string, args ...any) error { return errs.Invalid(path, format, args...) }

// object decodes raw as a JSON object and checks its keys against allowed.
func object(raw json.RawMessage, path string, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, bad(path, "must be a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, bad(path+"."+k, "is not a field here; use %s", strings.Join(allowed, ", "))
		}
	}
	return m, nil
}

func str(m map[string]json.RawMessage, key, path string, required bool) (string, error) {
	raw, ok := m[key]
	if !ok {
		if required {
			return "", bad(path+"."+key, "is required")
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", bad(path+"."+key, "must be a string")
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", bad(path+"."+key, "must not be empty")
	}
	if len(s) > maxNameLen || !utf8.ValidString(s) || strings.ContainsAny(s, "\"\\\x00") {
		return "", bad(path+"."+key, "must be at most %d characters of text without quotes or backslashes", maxNameLen)
	}
	return s, nil
}

var nodeKinds = []string{"all", "any", "not", "trait", "computed", "event", "contract", "open_tickets", "consent", "score", "segment",
	"space_member", "attended", "accepted_answers", "unanswered_questions"}

func (p *parser) node(raw json.RawMessage, path string, depth int) (Node, error) {
	if depth > maxDepth {
		return Node{}, bad(path, "nests deeper than %d levels", maxDepth)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Node{}, bad(path, "must be a JSON object")
	}
	kind := ""
	for _, k := range nodeKinds {
		if _, ok := m[k]; ok {
			if kind != "" {
				return Node{}, bad(path, "has both %q and %q; a node is one condition or one of all, any, not", kind, k)
			}
			kind = k
		}
	}
	if kind == "" {
		return Node{}, bad(path, "must have one of %s", strings.Join(nodeKinds, ", "))
	}
	if kind != "all" && kind != "any" && kind != "not" {
		p.conditions++
		if p.conditions > maxConditions {
			return Node{}, bad(path, "the definition has more than %d conditions", maxConditions)
		}
	}
	switch kind {
	case "all", "any":
		if _, err := object(raw, path, kind); err != nil {
			return Node{}, err
		}
		var list []json.RawMessage
		if err := json.Unmarshal(m[kind], &list); err != nil {
			return Node{}, bad(path+"."+kind, "must be a list of conditions")
		}
		if len(list) == 0 {
			return Node{}, bad(path+"."+kind, "must hold at least one condition")
		}
		out := make([]Node, len(list))
		for i, r := range list {
			n, err := p.node(r, fmt.Sprintf("%s.%s[%d]", path, kind, i), depth+1)
			if err != nil {
				return Node{}, err
			}
			out[i] = n
		}
		if kind == "all" {
			return Node{All: out}, nil
		}
		return Node{Any: out}, nil
	case "not":
		if _, err := object(raw, path, kind); err != nil {
			return Node{}, err
		}
		n, err := p.node(m["not"], path+".not", depth+1)
		if err != nil {
			return Node{}, err
		}
		return Node{Not: &n}, nil
	case "trait":
		if _, err := object(raw, path, "trait", "op", "value"); err != nil {
			return Node{}, err
		}
		name, err := str(m, "trait", path, true)
		if err != nil {
			return Node{}, err
		}
		c, err := valueCond(m, path, name, valueOps)
		return Node{Trait: c}, err
	case "computed":
		if _, err := object(raw, path, "computed", "op", "value"); err != nil {
			return Node{}, err
		}
		name, err := str(m, "computed", path, true)
		if err != nil {
			return Node{}, err
		}
		if !slices.Contains(computedNames, name) {
			return Node{}, bad(path+".computed", "must be one of %s", strings.Join(computedNames, ", "))
		}
		ops := countOps
		if computedIsTime(name) {
			ops = timeOps
		}
		c, err := valueCond(m, path, name, ops)
		if err == nil && !computedIsTime(name) {
			if f, ok := c.Value.(float64); !ok || f != math.Trunc(f) {
				return Node{}, bad(path+".value", "must be a whole number")
			}
		}
		return Node{Computed: c}, err
	case "event":
		return p.event(raw, m, path)
	case "contract":
		if _, err := object(raw, path, "contract"); err != nil {
			return Node{}, err
		}
		cp := path + ".contract"
		cm, err := object(m["contract"], cp, "product", "status", "renews_within", "started_within")
		if err != nil {
			return Node{}, err
		}
		c := &ContractCond{Status: "active"}
		if c.Product, err = str(cm, "product", cp, false); err != nil {
			return Node{}, err
		}
		if _, ok := cm["status"]; ok {
			s, err := str(cm, "status", cp, true)
			if err != nil {
				return Node{}, err
			}
			if !slices.Contains([]string{"active", "cancelled", "expired", "any"}, s) {
				return Node{}, bad(cp+".status", "must be active, cancelled, expired or any")
			}
			c.Status = s
			if s == "any" {
				c.Status = ""
			}
		}
		if _, ok := cm["renews_within"]; ok {
			d, err := duration(cm["renews_within"], cp+".renews_within")
			if err != nil {
				return Node{}, err
			}
			c.RenewsWithin = &d
		}
		if _, ok := cm["started_within"]; ok {
			d, err := duration(cm["started_within"], cp+".started_within")
			if err != nil {
				return Node{}, err
			}
			c.StartedWithin = &d
		}
		return Node{Contract: c}, nil
	case "open_tickets":
		if _, err := object(raw, path, "open_tickets"); err != nil {
			return Node{}, err
		}
		c, err := countCond(m["open_tickets"], path+".open_tickets")
		return Node{Tickets: &c}, err
	case "consent":
		if _, err := object(raw, path, "consent"); err != nil {
			return Node{}, err
		}
		cp := path + ".consent"
		cm, err := object(m["consent"], cp, "channel", "purpose", "status")
		if err != nil {
			return Node{}, err
		}
		// The consent ledger's vocabulary: a channel or purpose it does not know would never
		// match, and its not would silently hold for everyone.
		c := &ConsentCond{Status: string(consent.StatusOptedIn)}
		if c.Channel, err = str(cm, "channel", cp, true); err != nil {
			return Node{}, err
		}
		ch, err := consent.ParseChannel(cp+".channel", c.Channel)
		if err != nil {
			return Node{}, err
		}
		if c.Purpose, err = str(cm, "purpose", cp, true); err != nil {
			return Node{}, err
		}
		pu, err := consent.ParsePurpose(cp+".purpose", c.Purpose)
		if err != nil {
			return Node{}, err
		}
		c.Channel, c.Purpose = string(ch), string(pu)
		if _, ok := cm["status"]; ok {
			if c.Status, err = str(cm, "status", cp, true); err != nil {
				return Node{}, err
			}
			st, err := consent.ParseStatus(cp+".status", c.Status)
			if err != nil {
				return Node{}, err
			}
			c.Status = string(st)
		}
		return Node{Consent: c}, nil
	case "space_member":
		if _, err := object(raw, path, "space_member"); err != nil {
			return Node{}, err
		}
		ref, err := str(m, "space_member", path, true)
		return Node{SpaceMember: ref}, err
	case "attended":
		if _, err := object(raw, path, "attended"); err != nil {
			return Node{}, err
		}
		ap := path + ".attended"
		am, err := object(m["attended"], ap, "event", "within_last")
		if err != nil {
			return Node{}, err
		}
		c := &AttendedCond{}
		if c.Event, err = str(am, "event", ap, false); err != nil {
			return Node{}, err
		}
		if _, ok := am["within_last"]; ok {
			d, err := duration(am["within_last"], ap+".within_last")
			if err != nil {
				return Node{}, err
			}
			c.Within = &d
		}
		return Node{Attended: c}, nil
	case "accepted_answers":
		if _, err := object(raw, path, "accepted_answers"); err != nil {
			return Node{}, err
		}
		c, err := countCond(m["accepted_answers"], path+".accepted_answers")
		return Node{AcceptedAnswers: &c}, err
	case "unanswered_questions":
		if _, err := object(raw, path, "unanswered_questions"); err != nil {
			return Node{}, err
		}
		up := path + ".unanswered_questions"
		um, err := object(m["unanswered_questions"], up, "op", "value", "older_than")
		if err != nil {
			return Node{}, err
		}
		c := &UnansweredCond{}
		if r, ok := um["older_than"]; ok {
			d, err := duration(r, up+".older_than")
			if err != nil {
				return Node{}, err
			}
			c.OlderThan = &d
			delete(um, "older_than")
		}
		rest, _ := json.Marshal(um)
		if c.Count, err = countCond(rest, up); err != nil {
			return Node{}, err
		}
		return Node{Unanswered: c}, nil
	case "score":
		if _, err := object(raw, path, "score", "op", "value"); err != nil {
			return Node{}, err
		}
		model, err := str(m, "score", path, true)
		if err != nil {
			return Node{}, err
		}
		op, err := opOf(m, path, countOps)
		if err != nil {
			return Node{}, err
		}
		r, ok := m["value"]
		if !ok {
			return Node{}, bad(path+".value", "is required")
		}
		var f float64
		if err := json.Unmarshal(r, &f); err != nil || math.Abs(f) > 1e12 {
			return Node{}, bad(path+".value", "must be a number")
		}
		return Node{Score: &ScoreCond{Model: model, Op: op, Value: f}}, nil
	default: // segment
		if _, err := object(raw, path, "segment"); err != nil {
			return Node{}, err
		}
		id, err := str(m, "segment", path, true)
		return Node{Segment: id}, err
	}
}

func (p *parser) event(raw json.RawMessage, m map[string]json.RawMessage, path string) (Node, error) {
	if _, err := object(raw, path, "event", "where", "count", "within_last"); err != nil {
		return Node{}, err
	}
	name, err := str(m, "event", path, true)
	if err != nil {
		return Node{}, err
	}
	c := &EventCond{Name: name, Count: CountCond{Op: OpGte, Value: 1}}
	if r, ok := m["where"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(r, &list); err != nil {
			return Node{}, bad(path+".where", "must be a list of property filters")
		}
		if len(list) > 20 {
			return Node{}, bad(path+".where", "at most 20 property filters")
		}
		for i, f := range list {
			fp := fmt.Sprintf("%s.where[%d]", path, i)
			fm, err := object(f, fp, "property", "op", "value")
			if err != nil {
				return Node{}, err
			}
			prop, err := str(fm, "property", fp, true)
			if err != nil {
				return Node{}, err
			}
			vc, err := valueCond(fm, fp, prop, valueOps)
			if err != nil {
				return Node{}, err
			}
			c.Where = append(c.Where, *vc)
		}
	}
	if r, ok := m["count"]; ok {
		if c.Count, err = countCond(r, path+".count"); err != nil {
			return Node{}, err
		}
	}
	if r, ok := m["within_last"]; ok {
		d, err := duration(r, path+".within_last")
		if err != nil {
			return Node{}, err
		}
		c.Within = &d
	}
	return Node{Event: c}, nil
}

func countCond(raw json.RawMessage, path string) (CountCond, error) {
	m, err := object(raw, path, "op", "value")
	if err != nil {
		return CountCond{}, err
	}
	op, err := opOf(m, path, countOps)
	if err != nil {
		return CountCond{}, err
	}
	r, ok := m["value"]
	if !ok {
		return CountCond{}, bad(path+".value", "is required")
	}
	var f float64
	if err := json.Unmarshal(r, &f); err != nil || f < 0 || f != math.Trunc(f) || f > 1e12 {
		return CountCond{}, bad(path+".value", "must be a whole number, 0 or more")
	}
	return CountCond{Op: op, Value: int64(f)}, nil
}

func opOf(m map[string]json.RawMessage, path string, allowed []Op) (Op, error) {
	s, err := str(m, "op", path, true)
	if err != nil {
		return "", err
	}
	if !slices.Contains(allowed, Op(s)) {
		names := make([]string, len(allowed))
		for i, o := range allowed {
			names[i] = string(o)
		}
		return "", bad(path+".op", "must be one of %s", strings.Join(names, ", "))
	}
	return Op(s), nil
}

// valueCond reads "op" and "value" of m for the value called name.
func valueCond(m map[string]json.RawMessage, path, name string, allowed []Op) (*ValueCond, error) {
	op, err := opOf(m, path, allowed)
	if err != nil {
		return nil, err
	}
	c := &ValueCond{Name: name, Op: op}
	r, has := m["value"]
	vp := path + ".value"
	if op == OpExists || op == OpNotExists {
		if has {
			return nil, bad(vp, "%s takes no value", op)
		}
		return c, nil
	}
	if !has {
		return nil, bad(vp, "is required for %s", op)
	}
	switch op {
	case OpEq, OpNeq:
		c.Value, err = scalar(r, vp)
	case OpGt, OpGte, OpLt, OpLte:
		var f float64
		if e := json.Unmarshal(r, &f); e != nil {
			err = bad(vp, "must be a number for %s", op)
		}
		c.Value = f
	case OpIn:
		var list []json.RawMessage
		if e := json.Unmarshal(r, &list); e != nil || len(list) == 0 || len(list) > maxInValues {
			return nil, bad(vp, "must be a list of 1 to %d values", maxInValues)
		}
		vals := make([]any, len(list))
		for i, x := range list {
			if vals[i], err = scalar(x, fmt.Sprintf("%s[%d]", vp, i)); err != nil {
				return nil, err
			}
		}
		c.Value = vals
	case OpContains:
		var s string
		if e := json.Unmarshal(r, &s); e != nil || s == "" || strings.ContainsRune(s, 0) {
			err = bad(vp, "must be a non-empty string without U+0000 for contains")
		}
		c.Value = s
	case OpBefore, OpAfter:
		var s string
		if e := json.Unmarshal(r, &s); e != nil {
			return nil, bad(vp, "must be a date-time such as 2026-04-01T10:30:00+09:00 or a date such as 2026-04-01")
		}
		t, e := parseTime(s)
		if e != nil {
			return nil, bad(vp, "must be a date-time such as 2026-04-01T10:30:00+09:00 or a date such as 2026-04-01")
		}
		c.Value = t
	case OpWithinLast, OpMoreThanAgo:
		d, e := duration(r, vp)
		if e != nil {
			return nil, e
		}
		c.Value = d
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseTime reads an RFC 3339 date-time or a date (midnight UTC), to the second.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	return t.UTC(), err
}

func scalar(raw json.RawMessage, path string) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, bad(path, "must be a string, number or true/false")
	}
	switch v := v.(type) {
	case string:
		// Stored values lose U+0000 before they are compared (see stripNUL), and PostgreSQL
		// refuses it in an argument.
		if strings.ContainsRune(v, 0) {
			return nil, bad(path, "must not contain U+0000")
		}
		return v, nil
	case float64, bool:
		return v, nil
	}
	return nil, bad(path, "must be a string, number or true/false")
}

func duration(raw json.RawMessage, path string) (Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return Duration{}, bad(path, "must be an ISO 8601 duration such as P30D or PT12H")
	}
	d, err := ParseDuration(s)
	if err != nil {
		return Duration{}, bad(path, "must be an ISO 8601 duration such as P30D or PT12H")
	}
	return d, nil
}

// Refs returns the ids of the segments n refers to, directly.
func (n Node) Refs() []string {
	var out []string
	n.walk(func(x *Node) {
		if x.Segment != "" && !slices.Contains(out, x.Segment) {
			out = append(out, x.Segment)
		}
	})
	return out
}

// Scores returns the ids of the score models n compares, directly.
func (n Node) Scores() []string {
	var out []string
	n.walk(func(x *Node) {
		if x.Score != nil && !slices.Contains(out, x.Score.Model) {
			out = append(out, x.Score.Model)
		}
	})
	return out
}

// walk calls fn on n and every node under it (not into expanded references).
func (n *Node) walk(fn func(*Node)) {
	fn(n)
	for i := range n.All {
		n.All[i].walk(fn)
	}
	for i := range n.Any {
		n.Any[i].walk(fn)
	}
	if n.Not != nil {
		n.Not.walk(fn)
	}
}

// walkPaths calls fn on n and every node under it with its JSON path (not into expanded
// references).
func (n *Node) walkPaths(path string, fn func(*Node, string)) {
	fn(n, path)
	for i := range n.All {
		n.All[i].walkPaths(fmt.Sprintf("%s.all[%d]", path, i), fn)
	}
	for i := range n.Any {
		n.Any[i].walkPaths(fmt.Sprintf("%s.any[%d]", path, i), fn)
	}
	if n.Not != nil {
		n.Not.walkPaths(path+".not", fn)
	}
}

// Expand returns n with every segment it refers to replaced by that segment's definition, as
// lookup gives it, recursively. A reference to a segment that refers back (a cycle) or that
// lookup does not know is an errs.Invalid error naming the path of the reference.
func Expand(n Node, lookup func(id string) (Node, bool)) (Node, error) {
	return expand(n, lookup, nil, "definition")
}

func expand(n Node, lookup func(id string) (Node, bool), stack []string, path string) (Node, error) {
	switch {
	case n.All != nil || n.Any != nil:
		src, key := n.All, "all"
		if n.Any != nil {
			src, key = n.Any, "any"
		}
		out := make([]Node, len(src))
		for i := range src {
			x, err := expand(src[i], lookup, stack, fmt.Sprintf("%s.%s[%d]", path, key, i))
			if err != nil {
				return Node{}, err
			}
			out[i] = x
		}
		if key == "all" {
			return Node{All: out}, nil
		}
		return Node{Any: out}, nil
	case n.Not != nil:
		x, err := expand(*n.Not, lookup, stack, path+".not")
		if err != nil {
			return Node{}, err
		}
		return Node{Not: &x}, nil
	case n.Segment != "":
		if slices.Contains(stack, n.Segment) {
			return Node{}, bad(path+".segment", "segment %s refers back to itself (%s)", n.Segment, strings.Join(append(stack, n.Segment), " → "))
		}
		def, ok := lookup(n.Segment)
		if !ok {
			return Node{}, bad(path+".segment", "no segment %s", n.Segment)
		}
		x, err := expand(def, lookup, append(slices.Clip(stack), n.Segment), path+".segment")
		if err != nil {
			return Node{}, err
		}
		return Node{Segment: n.Segment, ref: &x}, nil
	}
	return n, nil
}

// lookupIn looks definitions up in all, for Expand.
func lookupIn(all map[string]Node) func(string) (Node, bool) {
	return func(id string) (Node, bool) { n, ok := all[id]; return n, ok }
}

// UnmarshalJSON reads n from its JSON form, as Parse does.
func (n *Node) UnmarshalJSON(b []byte) error {
	x, err := Parse(b)
	if err != nil {
		return err
	}
	*n = x
	return nil
}

// MarshalJSON writes n in its canonical JSON form.
func (n Node) MarshalJSON() ([]byte, error) { return json.Marshal(n.canonical()) }

func (n Node) canonical() map[string]any {
	switch {
	case n.All != nil:
		return map[string]any{"all": n.All}
	case n.Any != nil:
		return map[string]any{"any": n.Any}
	case n.Not != nil:
		return map[string]any{"not": *n.Not}
	case n.Trait != nil:
		return n.Trait.canonical("trait")
	case n.Computed != nil:
		return n.Computed.canonical("computed")
	case n.Event != nil:
		m := map[string]any{"event": n.Event.Name, "count": map[string]any{"op": n.Event.Count.Op, "value": n.Event.Count.Value}}
		if len(n.Event.Where) > 0 {
			w := make([]map[string]any, len(n.Event.Where))
			for i, f := range n.Event.Where {
				w[i] = f.canonical("property")
			}
			m["where"] = w
		}
		if n.Event.Within != nil {
			m["within_last"] = n.Event.Within.String()
		}
		return m
	case n.Contract != nil:
		c := map[string]any{"status": n.Contract.Status}
		if n.Contract.Status == "" {
			c["status"] = "any"
		}
		if n.Contract.Product != "" {
			c["product"] = n.Contract.Product
		}
		if n.Contract.RenewsWithin != nil {
			c["renews_within"] = n.Contract.RenewsWithin.String()
		}
		if n.Contract.StartedWithin != nil {
			c["started_within"] = n.Contract.StartedWithin.String()
		}
		return map[string]any{"contract": c}
	case n.Tickets != nil:
		return map[string]any{"open_tickets": map[string]any{"op": n.Tickets.Op, "value": n.Tickets.Value}}
	case n.Consent != nil:
		return map[string]any{"consent": map[string]any{"channel": n.Consent.Channel, "purpose": n.Consent.Purpose, "status": n.Consent.Status}}
	case n.SpaceMember != "":
		return map[string]any{"space_member": n.SpaceMember}
	case n.Attended != nil:
		a := map[string]any{}
		if n.Attended.Event != "" {
			a["event"] = n.Attended.Event
		}
		if n.Attended.Within != nil {
			a["within_last"] = n.Attended.Within.String()
		}
		return map[string]any{"attended": a}
	case n.AcceptedAnswers != nil:
		return map[string]any{"accepted_answers": map[string]any{"op": n.AcceptedAnswers.Op, "value": n.AcceptedAnswers.Value}}
	case n.Unanswered != nil:
		u := map[string]any{"op": n.Unanswered.Count.Op, "value": n.Unanswered.Count.Value}
		if n.Unanswered.OlderThan != nil {
			u["older_than"] = n.Unanswered.OlderThan.String()
		}
		return map[string]any{"unanswered_questions": u}
	case n.Score != nil:
		return map[string]any{"score": n.Score.Model, "op": n.Score.Op, "value": n.Score.Value}
	}
	return map[string]any{"segment": n.Segment}
}

func (c ValueCond) canonical(key string) map[string]any {
	m := map[string]any{key: c.Name, "op": c.Op}
	switch v := c.Value.(type) {
	case nil:
	case time.Time:
		m["value"] = v.Format(TimeLayout)
	case Duration:
		m["value"] = v.String()
	default:
		m["value"] = v
	}
	return m
}
