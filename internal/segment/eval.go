package segment

import (
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

// Facts are what the incremental evaluator knows of one root profile, read across its merge
// family by loadFacts: the same rows the compiled SQL reads, decided on in Go.
type Facts struct {
	Traits      map[string]any       // current value of each trait, decoded JSON
	Counters    map[string]Counter   // profile_counts per key, over the family
	Events      []FactEvent          // track events named by the segments being evaluated
	Purchases   int64                // CRM purchases
	Contracts   []FactContract       // contracts of the accounts the family's profiles belong to
	OpenTickets int64                // CRM tickets open or pending
	Consents    map[[2]string]string // channel, purpose → current status
	Scores      map[string]FactScore // score model id → the family's scores, for the models named

	// Community facts of the members whose user_id is on the family's profiles; read only when a
	// segment has a community condition.
	Spaces     []FactSpace      // spaces followed
	Attendance []FactAttendance // check-ins at community events
	Answers    []FactAnswer     // replies accepted as the answer to a question
	Questions  []FactQuestion   // questions asked
}

// FactSpace is a space a member follows.
type FactSpace struct{ ID, Slug string }

// FactAttendance is one check-in at a community event.
type FactAttendance struct {
	Event string
	At    int64 // Unix ms
}

// FactAnswer is a reply accepted as the answer to a question.
type FactAnswer struct {
	Asker, Answerer string // member ids
	Hidden          bool   // the reply or the question is hidden
}

// FactQuestion is a question a member asked.
type FactQuestion struct {
	At       int64 // asked, Unix ms
	Hidden   bool
	Accepted bool // it has an accepted answer
	Replied  bool // someone other than the asker replied, visibly
}

// FactScore is what the family holds under one score model: each profile's stored score, and
// the model's half-life (ms, 0 for none) and cap.
type FactScore struct {
	HalfLifeMs int64
	Cap        *float64
	States     []ScoreState
}

// ScoreState is one profile's stored score: Value as of AsOf (Unix ms).
type ScoreState struct {
	Value float64
	AsOf  int64
}

// Value is the family's score at now (Unix ms): each state decayed, summed, then capped.
func (fs FactScore) Value(now int64) float64 {
	total := 0.0
	for _, s := range fs.States {
		total += Decay(s.Value, now-s.AsOf, fs.HalfLifeMs)
	}
	if fs.Cap != nil && total > *fs.Cap {
		total = *fs.Cap
	}
	return total
}

// Counter is one profile_counts key summed over a family.
type Counter struct{ N, FirstAt, LastAt int64 }

// FactEvent is one track event.
type FactEvent struct {
	Name       string
	At         int64 // Unix ms
	Properties map[string]any
}

// FactContract is one CRM contract.
type FactContract struct {
	Plan, Status, RenewsOn string // RenewsOn YYYY-MM-DD or ""
	StartsOn               string // YYYY-MM-DD, or "" when the CRM gave none
}

// Eval reports whether a root profile with facts f is in the expanded definition n as of now.
// It decides exactly as the SQL Compile makes does; the property test holds the two together.
func Eval(n Node, f *Facts, now time.Time) bool {
	switch {
	case n.All != nil:
		for i := range n.All {
			if !Eval(n.All[i], f, now) {
				return false
			}
		}
		return true
	case n.Any != nil:
		for i := range n.Any {
			if Eval(n.Any[i], f, now) {
				return true
			}
		}
		return false
	case n.Not != nil:
		return !Eval(*n.Not, f, now)
	case n.Trait != nil:
		v, ok := f.Traits[n.Trait.Name]
		return matchValue(v, ok, *n.Trait, now)
	case n.Computed != nil:
		return evalComputed(*n.Computed, f, now)
	case n.Event != nil:
		return evalEvent(*n.Event, f, now)
	case n.Contract != nil:
		c := n.Contract
		var from, until, started, today string
		if c.RenewsWithin != nil {
			from, until = renewalWindow(*c.RenewsWithin, now)
		}
		if c.StartedWithin != nil {
			started, today = startWindow(*c.StartedWithin, now), now.UTC().Format(time.DateOnly)
		}
		for _, k := range f.Contracts {
			if (c.Product == "" || k.Plan == c.Product) && (c.Status == "" || k.Status == c.Status) &&
				(c.RenewsWithin == nil || (k.RenewsOn != "" && k.RenewsOn >= from && k.RenewsOn <= until)) &&
				(c.StartedWithin == nil || (k.StartsOn >= started && k.StartsOn <= today)) {
				return true
			}
		}
		return false
	case n.Tickets != nil:
		return compare(f.OpenTickets, n.Tickets.Op, n.Tickets.Value)
	case n.Consent != nil:
		st, ok := f.Consents[[2]string{n.Consent.Channel, n.Consent.Purpose}]
		if !ok {
			st = "unknown"
		}
		return st == n.Consent.Status
	case n.SpaceMember != "":
		for _, sp := range f.Spaces {
			if sp.ID == n.SpaceMember || sp.Slug == n.SpaceMember {
				return true
			}
		}
		return false
	case n.Attended != nil:
		a := n.Attended
		var since int64
		if a.Within != nil {
			since = db.Now(a.Within.Before(now))
		}
		for _, x := range f.Attendance {
			if (a.Event == "" || x.Event == a.Event) && (a.Within == nil || x.At >= since) {
				return true
			}
		}
		return false
	case n.AcceptedAnswers != nil:
		var k int64
		for _, a := range f.Answers {
			if !a.Hidden && a.Asker != a.Answerer {
				k++
			}
		}
		return compare(k, n.AcceptedAnswers.Op, n.AcceptedAnswers.Value)
	case n.Unanswered != nil:
		u := n.Unanswered
		var before int64
		if u.OlderThan != nil {
			before = db.Now(u.OlderThan.Before(now))
		}
		var k int64
		for _, q := range f.Questions {
			if !q.Hidden && !q.Accepted && !q.Replied && (u.OlderThan == nil || q.At < before) {
				k++
			}
		}
		return compare(k, u.Count.Op, u.Count.Value)
	case n.Score != nil:
		return compare(f.Scores[n.Score.Model].Value(db.Now(now)), n.Score.Op, n.Score.Value)
	case n.ref != nil:
		return Eval(*n.ref, f, now)
	}
	return false
}

func evalComputed(vc ValueCond, f *Facts, now time.Time) bool {
	if vc.Name == ComputedPurchases {
		return compare(f.Purchases, vc.Op, int64(vc.Value.(float64)))
	}
	var c Counter
	ok := false
	for _, k := range counterKeys(vc.Name) {
		x, has := f.Counters[k]
		switch {
		case !has:
		case !ok:
			c, ok = x, true
		default:
			c = Counter{N: c.N + x.N, FirstAt: min(c.FirstAt, x.FirstAt), LastAt: max(c.LastAt, x.LastAt)}
		}
	}
	if !computedIsTime(vc.Name) {
		return compare(c.N, vc.Op, int64(vc.Value.(float64)))
	}
	switch vc.Op {
	case OpExists:
		return ok
	case OpNotExists:
		return !ok
	}
	if !ok {
		return false
	}
	t := c.LastAt
	if vc.Name == ComputedFirstSeen {
		t = c.FirstAt
	}
	return compare(t, sqlCompare(vc.Op), db.Now(timeBound(vc, now)))
}

// sqlCompare is the count comparison a time comparison amounts to (see sqlOp).
func sqlCompare(op Op) Op {
	switch op {
	case OpAfter:
		return OpGt
	case OpWithinLast:
		return OpGte
	case OpBefore, OpMoreThanAgo:
		return OpLt
	}
	return op
}

func evalEvent(ec EventCond, f *Facts, now time.Time) bool {
	var since int64
	if ec.Within != nil {
		since = db.Now(ec.Within.Before(now))
	}
	var n int64
events:
	for _, e := range f.Events {
		if e.Name != ec.Name || (ec.Within != nil && e.At < since) {
			continue
		}
		for _, w := range ec.Where {
			v, ok := e.Properties[w.Name]
			if !matchValue(v, ok, w, now) {
				continue events
			}
		}
		n++
	}
	return compare(n, ec.Count.Op, ec.Count.Value)
}

// matchValue decides vc on a decoded JSON value v (present is false when there is none).
func matchValue(v any, present bool, vc ValueCond, now time.Time) bool {
	exists := present && v != nil
	switch vc.Op {
	case OpExists:
		return exists
	case OpNotExists:
		return !exists
	case OpEq:
		return jsonEq(v, vc.Value)
	case OpNeq:
		return exists && !jsonEq(v, vc.Value)
	case OpIn:
		for _, x := range vc.Value.([]any) {
			if jsonEq(v, x) {
				return true
			}
		}
		return false
	case OpGt, OpGte, OpLt, OpLte:
		f, ok := v.(float64)
		if !ok {
			return false
		}
		b := vc.Value.(float64)
		switch vc.Op {
		case OpGt:
			return f > b
		case OpGte:
			return f >= b
		case OpLt:
			return f < b
		}
		return f <= b
	case OpContains:
		s := vc.Value.(string)
		switch v := v.(type) {
		case string:
			return strings.Contains(v, s)
		case []any:
			for _, x := range v {
				if x == s {
					return true
				}
			}
		}
		return false
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	switch {
	case timeRE.MatchString(s):
	case dateRE.MatchString(s):
		s += "T00:00:00Z"
	default:
		return false
	}
	b := timeBound(vc, now).Format(TimeLayout)
	switch sqlCompare(vc.Op) {
	case OpGt:
		return s > b
	case OpGte:
		return s >= b
	}
	return s < b
}

// jsonEq reports whether decoded JSON v equals the definition's scalar x, types included.
func jsonEq(v, x any) bool {
	switch x := x.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == x
	case float64:
		f, ok := v.(float64)
		return ok && f == x
	case bool:
		b, ok := v.(bool)
		return ok && b == x
	}
	return false
}
