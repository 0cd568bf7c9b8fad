package segment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
)

// Query is a compiled segment: SQL that returns the id of every root profile in the segment,
// with its arguments.
type Query struct {
	SQL  string
	Args []any
}

// Compile turns an expanded definition (see Expand) into one SELECT for engine e that
// recomputes the whole segment as of now. Every root profile (one not merged into another) is
// considered, and data recorded under the profiles merged into it counts for it.
//
// Each condition reads its table once: a common table expression gathers the matching rows per
// root (a row recorded under a merged profile counts for the root that merged maps it to; most
// profiles are merged into nothing, so only the few that are go through the recursive walk up
// their merges), and the condition becomes "root id IN (…)" —
// or "NOT IN" where a root with no rows passes (a count that may be zero, not_exists, an unknown
// consent). The statement so stays one scan per condition, however many profiles there are.
//
// When the definition is an "all" with a condition that every member must meet and that few
// profiles are likely to (see selectivity), that condition drives: it is computed first, as the
// candidates, and every other condition reads only the rows of the candidates' families, through
// the indexes that lead with profile_id, instead of its whole table. A five-condition segment over
// a million profiles so reads little more than its most selective condition's rows.
func Compile(e db.Engine, n Node, now time.Time) (Query, error) {
	c := &compiler{e: e, now: now, ctes: map[string]string{}}
	expr, err := c.top(n)
	if err != nil {
		return Query{}, err
	}
	var b strings.Builder
	b.WriteString("WITH RECURSIVE up (id, root) AS (\n" +
		"  SELECT id, merged_into FROM identity_profiles WHERE merged_into IS NOT NULL\n" +
		"  UNION ALL\n" +
		"  SELECT up.id, p.merged_into FROM up JOIN identity_profiles p ON p.id = up.root WHERE p.merged_into IS NOT NULL\n),\n" +
		"merged (id, root) AS (\n" +
		"  SELECT up.id, up.root FROM up JOIN identity_profiles p ON p.id = up.root WHERE p.merged_into IS NULL\n)")
	for _, cte := range c.order {
		b.WriteString(",\n")
		b.WriteString(cte)
	}
	b.WriteString("\nSELECT r.id FROM identity_profiles r\nWHERE r.merged_into IS NULL\n  AND ")
	b.WriteString(expr)
	return Query{SQL: b.String(), Args: c.args}, nil
}

type compiler struct {
	e     db.Engine
	now   time.Time
	args  []any
	order []string          // the common table expressions, in order
	ctes  map[string]string // a CTE's body → its name, so a repeated condition reads once
	only  bool              // CTEs read only the rows of the candidates' families (see top)
}

// top compiles the definition's root node, driven by its most selective required condition when
// it has one (see Compile).
func (c *compiler) top(n Node) (string, error) {
	driver, best := -1, 0
	for i, child := range n.All {
		rank := selectivity(child)
		if rank == 0 || (driver >= 0 && rank >= best) {
			continue
		}
		// Only a condition that compiles to "root IN (…)" can drive: one that a profile without
		// any row may pass (a count that may be zero, a negation) selects nearly everyone.
		scratch := &compiler{e: c.e, now: c.now, ctes: map[string]string{}}
		if p, err := scratch.node(child); err == nil && strings.HasPrefix(p, "r.id IN (") {
			driver, best = i, rank
		}
	}
	if driver < 0 {
		return c.node(n)
	}
	first, err := c.node(n.All[driver])
	if err != nil {
		return "", err
	}
	c.order = append(c.order, "cand AS (\n  "+strings.TrimSuffix(strings.TrimPrefix(first, "r.id IN ("), ")")+"\n)",
		"candfam (id) AS (\n  SELECT root FROM cand UNION ALL SELECT m.id FROM merged m WHERE m.root IN (SELECT root FROM cand)\n)")
	c.only = true
	parts := []string{"r.id IN (SELECT root FROM cand)"}
	for i, child := range n.All {
		if i == driver {
			continue
		}
		p, err := c.node(child)
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return "(" + strings.Join(parts, " AND ") + ")", nil
}

// selectivity ranks how few profiles a condition is likely to select, from 1 (fewest) up; 0 when
// it cannot drive (a combination of conditions). Only the order matters, and only for speed.
func selectivity(n Node) int {
	switch {
	case n.ref != nil:
		return selectivity(*n.ref)
	case n.Event != nil && n.Event.Within != nil, n.Contract != nil && (n.Contract.RenewsWithin != nil || n.Contract.StartedWithin != nil),
		n.Attended != nil && n.Attended.Within != nil:
		return 1
	case n.Event != nil, n.Contract != nil, n.Tickets != nil, n.Attended != nil, n.SpaceMember != "", n.AcceptedAnswers != nil, n.Unanswered != nil:
		return 2
	case n.Consent != nil:
		return 3
	case n.Trait != nil && n.Trait.Op != OpExists, n.Computed != nil && n.Computed.Op != OpExists:
		return 4
	case n.All != nil, n.Any != nil, n.Not != nil:
		return 0
	}
	return 5
}

// where joins conditions into a WHERE clause over the rows of alias, adding, when the statement
// is driven by candidates, that the row is one of theirs.
func (c *compiler) where(alias string, conds ...string) string {
	if c.only {
		conds = append(conds, alias+".profile_id IN (SELECT id FROM candfam)")
	}
	if len(conds) == 0 {
		return ""
	}
	return "\n  WHERE " + strings.Join(conds, "\n    AND ")
}

// arg adds an argument and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

// cte adds a common table expression with body (unless the same one exists) and returns its name.
func (c *compiler) cte(body string) string {
	if name, ok := c.ctes[body]; ok {
		return name
	}
	name := "c" + strconv.Itoa(len(c.ctes)+1)
	c.ctes[body] = name
	c.order = append(c.order, name+" AS (\n  "+body+"\n)")
	return name
}

// sortText is how text is made to compare by bytes on both engines (PostgreSQL otherwise uses the
// database's collation).
func (c *compiler) sortText(expr string) string {
	if c.e == db.Postgres {
		return expr + ` COLLATE "C"`
	}
	return expr
}

func (c *compiler) node(n Node) (string, error) {
	switch {
	case n.All != nil || n.Any != nil:
		list, join := n.All, " AND "
		if n.Any != nil {
			list, join = n.Any, " OR "
		}
		parts := make([]string, len(list))
		for i := range list {
			p, err := c.node(list[i])
			if err != nil {
				return "", err
			}
			parts[i] = p
		}
		return "(" + strings.Join(parts, join) + ")", nil
	case n.Not != nil:
		p, err := c.node(*n.Not)
		if err != nil {
			return "", err
		}
		return "NOT " + p, nil
	case n.Trait != nil:
		return c.trait(*n.Trait), nil
	case n.Computed != nil:
		return c.computed(*n.Computed), nil
	case n.Event != nil:
		return c.event(*n.Event), nil
	case n.Contract != nil:
		return c.contract(*n.Contract), nil
	case n.Tickets != nil:
		name := c.cte(`SELECT COALESCE(m.root, t.profile_id) AS root, COUNT(*) AS n FROM crm_tickets t LEFT JOIN merged m ON m.id = t.profile_id` +
			c.where("t", "t.status IN ('open', 'pending')") + `
  GROUP BY COALESCE(m.root, t.profile_id)`)
		return c.count(name, *n.Tickets), nil
	case n.Consent != nil:
		return c.consent(*n.Consent), nil
	case n.SpaceMember != "":
		ref := c.arg(n.SpaceMember)
		return in(c.cte(`SELECT DISTINCT `+memberRoot+` AS root FROM space_members sm JOIN spaces s ON s.id = sm.space_id
  `+memberJoin("sm.member_id")+c.where("i", "(s.id = "+ref+" OR s.slug = "+ref+")")), "", false), nil
	case n.Attended != nil:
		where := []string{"v.checked_in_at IS NOT NULL"}
		if n.Attended.Event != "" {
			where = append(where, "v.event_id = "+c.arg(n.Attended.Event))
		}
		if n.Attended.Within != nil {
			where = append(where, "v.checked_in_at >= "+c.arg(db.Now(n.Attended.Within.Before(c.now))))
		}
		return in(c.cte(`SELECT DISTINCT `+memberRoot+` AS root FROM meetup_rsvps v
  `+memberJoin("v.member_id")+c.where("i", where...)), "", false), nil
	case n.AcceptedAnswers != nil:
		// As the badges count them: the reply and the question visible, and not the asker's own.
		name := c.cte(`SELECT ` + memberRoot + ` AS root, COUNT(*) AS n FROM posts p JOIN comments a ON a.id = p.accepted_comment_id
  ` + memberJoin("a.author_id") + c.where("i", "p.accepted_comment_id IS NOT NULL", "p.author_id <> a.author_id", "p.hidden = 0", "a.hidden = 0") + `
  GROUP BY ` + memberRoot)
		return c.count(name, *n.AcceptedAnswers), nil
	case n.Unanswered != nil:
		where := []string{"p.kind = 'question'", "p.hidden = 0", "p.accepted_comment_id IS NULL",
			"NOT EXISTS (SELECT 1 FROM comments a WHERE a.post_id = p.id AND a.hidden = 0 AND a.author_id <> p.author_id)"}
		if n.Unanswered.OlderThan != nil {
			where = append(where, "p.created_at < "+c.arg(db.Now(n.Unanswered.OlderThan.Before(c.now))))
		}
		name := c.cte(`SELECT ` + memberRoot + ` AS root, COUNT(*) AS n FROM posts p
  ` + memberJoin("p.author_id") + c.where("i", where...) + `
  GROUP BY ` + memberRoot)
		return c.count(name, n.Unanswered.Count), nil
	case n.Score != nil:
		return c.score(*n.Score), nil
	case n.Segment != "":
		if n.ref == nil {
			return "", fmt.Errorf("segment %s: compiling a definition that was not expanded", n.Segment)
		}
		return c.node(*n.ref)
	}
	return "", errors.New("compiling an empty segment node")
}

// memberJoin joins a member id column to the profile it is the user_id of (community events carry
// the member id as userId), and that profile to its root; memberRoot is then the root.
func memberJoin(col string) string {
	return "JOIN identity_identifiers i ON i.type = 'user_id' AND i.value = " + col + " LEFT JOIN merged m ON m.id = i.profile_id"
}

const memberRoot = "COALESCE(m.root, i.profile_id)"

// in is "root is one of the roots name gives where cond", or "is not one of those where not
// cond" when negate.
func in(name, where string, negate bool) string {
	q := "SELECT root FROM " + name
	if where != "" {
		q += " WHERE " + where
	}
	if negate {
		return "r.id NOT IN (" + q + ")"
	}
	return "r.id IN (" + q + ")"
}

// count compares the per-root count n of name with cc; roots without a row count 0.
func (c *compiler) count(name string, cc CountCond) string {
	op := sqlOp(cc.Op)
	v := c.arg(cc.Value)
	if compare(0, cc.Op, cc.Value) {
		return in(name, "NOT (n "+op+" "+v+")", true)
	}
	return in(name, "n "+op+" "+v, false)
}

func sqlOp(op Op) string {
	switch op {
	case OpEq:
		return "="
	case OpNeq:
		return "<>"
	case OpGt, OpAfter:
		return ">"
	case OpGte, OpWithinLast:
		return ">="
	case OpLt, OpBefore, OpMoreThanAgo:
		return "<"
	case OpLte:
		return "<="
	}
	panic("segment: no SQL operator for " + string(op))
}

func (c *compiler) trait(vc ValueCond) string {
	name := c.arg(vc.Name)
	order := "t.updated_at DESC, " + c.sortText("t.profile_id") + " DESC"
	cte := c.cte(`SELECT root, ` + c.withoutNUL("value") + ` AS value FROM (
    SELECT COALESCE(m.root, t.profile_id) AS root, t.value,
      ROW_NUMBER() OVER (PARTITION BY COALESCE(m.root, t.profile_id) ORDER BY ` + order + `) AS rn
    FROM profile_traits t LEFT JOIN merged m ON m.id = t.profile_id` + c.where("t", "t.name = "+name) + `
  ) x WHERE rn = 1`)
	ref := c.jsonRef(cte+".value", "") // without NUL already
	if vc.Op == OpNotExists {
		return in(cte, c.jsonPred(ref, ValueCond{Op: OpExists}), true)
	}
	return in(cte, c.jsonPred(ref, vc), false)
}

// counterKeys are the profile_counts keys a computed attribute reads. First and last seen and
// the event count are the person's own doing — what they did in the community or sites and apps
// sent through the tracking API — not the events the system, the CRM or an import record about
// them (a consent recorded, a ticket updated, Segment Entered): entering "no activity in 30 days"
// must not count as activity.
func counterKeys(name string) []string {
	switch name {
	case ComputedLastCommunityActivity:
		return []string{"source:community"}
	case ComputedPageViews:
		return []string{"type:page"}
	case ComputedLastLogin:
		return []string{"event:" + EventLoggedIn}
	}
	return []string{"source:community", "source:tracking"}
}

func (c *compiler) computed(vc ValueCond) string {
	if vc.Name == ComputedPurchases {
		name := c.cte(`SELECT COALESCE(m.root, p.profile_id) AS root, COUNT(*) AS n FROM crm_purchases p LEFT JOIN merged m ON m.id = p.profile_id` +
			c.where("p") + `
  GROUP BY COALESCE(m.root, p.profile_id)`)
		return c.count(name, CountCond{Op: vc.Op, Value: int64(vc.Value.(float64))})
	}
	var keys []string
	for _, k := range counterKeys(vc.Name) {
		keys = append(keys, c.arg(k))
	}
	name := c.cte(`SELECT COALESCE(m.root, k.profile_id) AS root, SUM(k.count) AS n, MIN(k.first_at) AS first_at, MAX(k.last_at) AS last_at
  FROM profile_counts k LEFT JOIN merged m ON m.id = k.profile_id` + c.where("k", "k.key IN ("+strings.Join(keys, ", ")+")") + `
  GROUP BY COALESCE(m.root, k.profile_id)`)
	if !computedIsTime(vc.Name) {
		return c.count(name, CountCond{Op: vc.Op, Value: int64(vc.Value.(float64))})
	}
	col := "last_at"
	if vc.Name == ComputedFirstSeen {
		col = "first_at"
	}
	switch vc.Op {
	case OpExists:
		return in(name, "", false)
	case OpNotExists:
		return in(name, "", true)
	}
	return in(name, col+" "+sqlOp(vc.Op)+" "+c.arg(db.Now(timeBound(vc, c.now))), false)
}

func (c *compiler) event(ec EventCond) string {
	where := []string{"e.type = 'track'", "e.name = " + c.arg(ec.Name)}
	if ec.Within != nil {
		where = append(where, "e.at >= "+c.arg(db.Now(ec.Within.Before(c.now))))
	}
	for _, f := range ec.Where {
		path := f.Name
		if c.e == db.SQLite {
			path = `$."` + f.Name + `"`
		}
		where = append(where, c.jsonPred(c.jsonRef(c.withoutNUL("e.properties"), c.arg(path)), f))
	}
	name := c.cte(`SELECT COALESCE(m.root, e.profile_id) AS root, COUNT(*) AS n FROM profile_events e LEFT JOIN merged m ON m.id = e.profile_id` +
		c.where("e", where...) + `
  GROUP BY COALESCE(m.root, e.profile_id)`)
	return c.count(name, ec.Count)
}

func (c *compiler) contract(cc ContractCond) string {
	var where []string
	if cc.Product != "" {
		where = append(where, "k.plan = "+c.arg(cc.Product))
	}
	if cc.Status != "" {
		where = append(where, "k.status = "+c.arg(cc.Status))
	}
	if cc.RenewsWithin != nil {
		from, until := renewalWindow(*cc.RenewsWithin, c.now)
		where = append(where, "k.renews_on IS NOT NULL",
			c.sortText("k.renews_on")+" >= "+c.arg(from), c.sortText("k.renews_on")+" <= "+c.arg(until))
	}
	if cc.StartedWithin != nil {
		// starts_on is "" when the CRM gave no start: it sorts before every date.
		where = append(where, c.sortText("k.starts_on")+" >= "+c.arg(startWindow(*cc.StartedWithin, c.now)),
			c.sortText("k.starts_on")+" <= "+c.arg(c.now.UTC().Format(time.DateOnly)))
	}
	q := `SELECT DISTINCT COALESCE(m.root, pa.profile_id) AS root FROM crm_contracts k
  JOIN profile_accounts pa ON pa.account_id = k.account_id LEFT JOIN merged m ON m.id = pa.profile_id` + c.where("pa", where...)
	return in(c.cte(q), "", false)
}

func (c *compiler) consent(cc ConsentCond) string {
	// As the consent ledger chooses: on a tie of recorded_at an opt-out wins, then the greater id.
	order := "k.recorded_at DESC, (k.status = 'opted_out') DESC, " + c.sortText("k.id") + " DESC"
	name := c.cte(`SELECT root, status FROM (
    SELECT COALESCE(m.root, k.profile_id) AS root, k.status,
      ROW_NUMBER() OVER (PARTITION BY COALESCE(m.root, k.profile_id) ORDER BY ` + order + `) AS rn
    FROM consent_records k LEFT JOIN merged m ON m.id = k.profile_id` +
		c.where("k", "k.channel = "+c.arg(cc.Channel), "k.purpose = "+c.arg(cc.Purpose)) + `
  ) x WHERE rn = 1`)
	if cc.Status == "unknown" {
		return in(name, "status <> 'unknown'", true)
	}
	return in(name, "status = "+c.arg(cc.Status), false)
}

// score compares the current score of each root under a model: the sum of its family's scores,
// each decayed from its as_of to now as Decay does (value · 2^(−elapsed/half-life), nothing left
// after 60 half-lives), then capped. Roots without a score have 0.
func (c *compiler) score(sc ScoreCond) string {
	now := c.arg(db.Now(c.now))
	elapsed := "CAST(" + now + " - v.as_of AS REAL) / k.half_life_ms"
	pow, num := "pow(2.0, -("+elapsed+"))", c.arg(sc.Value)
	if c.e == db.Postgres {
		elapsed = "(" + now + "::bigint - v.as_of)::float8 / k.half_life_ms"
		pow, num = "power(2.0::float8, -("+elapsed+"))", num+"::float8"
	}
	name := c.cte(`SELECT root, CASE WHEN cap IS NOT NULL AND s > cap THEN cap ELSE s END AS n FROM (
    SELECT COALESCE(m.root, v.profile_id) AS root, MAX(k.max_score) AS cap,
      SUM(CASE WHEN k.half_life_ms <= 0 OR v.as_of >= ` + now + ` THEN v.value WHEN ` + elapsed + ` > ` + strconv.Itoa(maxHalfLives) + ` THEN 0.0
        ELSE v.value * ` + pow + ` END) AS s
    FROM score_values v JOIN score_models k ON k.id = v.model_id LEFT JOIN merged m ON m.id = v.profile_id` +
		c.where("v", "v.model_id = "+c.arg(sc.Model)) + `
    GROUP BY COALESCE(m.root, v.profile_id)
  ) x`)
	op := sqlOp(sc.Op)
	if compare(0, sc.Op, sc.Value) {
		return in(name, "NOT (n "+op+" "+num+")", true)
	}
	return in(name, "n "+op+" "+num, false)
}

// jsonRef is a JSON value in SQL: the document doc (TEXT, without \u0000: see withoutNUL), or
// its member key (a placeholder: the key on PostgreSQL, a JSON path on SQLite) when key is not "".
type jsonRef struct {
	typ, val  string // SQLite: json_type and json_extract; PostgreSQL: jsonb_typeof and the jsonb
	doc, path string
}

func (c *compiler) jsonRef(doc, key string) jsonRef {
	if c.e == db.SQLite {
		path := "'$'"
		if key != "" {
			path = key
		}
		return jsonRef{typ: "json_type(" + doc + ", " + path + ")", val: "json_extract(" + doc + ", " + path + ")", doc: doc, path: path}
	}
	j := "(" + doc + ")::jsonb"
	if key != "" {
		j = "((" + doc + ")::jsonb -> " + key + "::text)"
	}
	return jsonRef{typ: "jsonb_typeof(" + j + ")", val: j}
}

// withoutNUL is the JSON text doc with every \u0000 escape taken out (stripNUL does the same in
// Go): JSON allows U+0000 in strings, PostgreSQL's jsonb refuses it ("unsupported Unicode escape
// sequence") and would fail the whole statement. An escaped backslash followed by u0000 is no NUL
// and stays: backslash pairs are first replaced by U+0001, which valid JSON text never holds raw,
// and put back after.
func (c *compiler) withoutNUL(doc string) string {
	find, one := "instr("+doc+`, '\u0000')`, "char(1)"
	if c.e == db.Postgres {
		find, one = "strpos("+doc+`, '\u0000')`, "chr(1)"
	}
	return "(CASE WHEN " + find + " > 0 THEN replace(replace(replace(" + doc + `, '\\', ` + one + `), '\u0000', ''), ` + one +
		`, '\\') ELSE ` + doc + " END)"
}

// The time forms a trait or property may hold, as SQLite GLOB patterns and PostgreSQL (and Go)
// regular expressions: see TimeLayout.
const (
	globTime = `[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z`
	globDate = `[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]`
)

// jsonPred is the condition vc on the JSON value r: never NULL, so NOT and NOT IN work on it.
func (c *compiler) jsonPred(r jsonRef, vc ValueCond) string {
	var p string
	if c.e == db.SQLite {
		p = c.sqlitePred(r, vc)
	} else {
		p = c.postgresPred(r, vc)
	}
	return "COALESCE(" + p + ", FALSE)"
}

func (c *compiler) sqlitePred(r jsonRef, vc ValueCond) string {
	// Numbers compare as doubles, as in Go and PostgreSQL (::float8): SQLite would compare an
	// INTEGER exactly with the argument, and disagree above 2^53.
	num := "CAST(" + r.val + " AS REAL)"
	exists := "(" + r.typ + " IS NOT NULL AND " + r.typ + " <> 'null')"
	eq := func(v any) string {
		switch v := v.(type) {
		case string:
			return "(" + r.typ + " = 'text' AND " + r.val + " = " + c.arg(v) + ")"
		case bool:
			if v {
				return "(" + r.typ + " = 'true')"
			}
			return "(" + r.typ + " = 'false')"
		}
		return "(" + r.typ + " IN ('integer', 'real') AND " + num + " = " + c.arg(v) + ")"
	}
	switch vc.Op {
	case OpExists:
		return exists
	case OpNotExists:
		return "(NOT " + exists + ")"
	case OpEq:
		return eq(vc.Value)
	case OpNeq:
		return "(" + exists + " AND NOT " + eq(vc.Value) + ")"
	case OpIn:
		var parts []string
		for _, v := range vc.Value.([]any) {
			parts = append(parts, eq(v))
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case OpGt, OpGte, OpLt, OpLte:
		return "(" + r.typ + " IN ('integer', 'real') AND " + num + " " + sqlOp(vc.Op) + " " + c.arg(vc.Value) + ")"
	case OpContains:
		s := c.arg(vc.Value)
		return "((" + r.typ + " = 'text' AND instr(" + r.val + ", " + s + ") > 0) OR (" + r.typ +
			" = 'array' AND EXISTS (SELECT 1 FROM json_each(" + r.doc + ", " + r.path + ") x WHERE x.type = 'text' AND x.value = " + s + ")))"
	}
	norm := "(CASE WHEN " + r.typ + " = 'text' THEN CASE WHEN " + r.val + " GLOB '" + globTime + "' THEN " + r.val +
		" WHEN " + r.val + " GLOB '" + globDate + "' THEN " + r.val + " || 'T00:00:00Z' END END)"
	return "(" + norm + " " + sqlOp(vc.Op) + " " + c.arg(timeBound(vc, c.now).Format(TimeLayout)) + ")"
}

func (c *compiler) postgresPred(r jsonRef, vc ValueCond) string {
	text := "(" + r.val + " #>> '{}')"
	num := "(CASE WHEN " + r.typ + " = 'number' THEN (" + r.val + ")::float8 END)"
	exists := "(" + r.typ + " IS NOT NULL AND " + r.typ + " <> 'null')"
	eq := func(v any) string {
		switch v := v.(type) {
		case string:
			return "(" + r.typ + " = 'string' AND " + text + " = " + c.arg(v) + "::text)"
		case bool:
			if v {
				return "(" + r.typ + " = 'boolean' AND " + r.val + " = 'true'::jsonb)"
			}
			return "(" + r.typ + " = 'boolean' AND " + r.val + " = 'false'::jsonb)"
		}
		return "(" + num + " = " + c.arg(v) + "::float8)"
	}
	switch vc.Op {
	case OpExists:
		return exists
	case OpNotExists:
		return "(NOT COALESCE(" + exists + ", FALSE))"
	case OpEq:
		return eq(vc.Value)
	case OpNeq:
		return "(" + exists + " AND NOT COALESCE(" + eq(vc.Value) + ", FALSE))"
	case OpIn:
		var parts []string
		for _, v := range vc.Value.([]any) {
			parts = append(parts, eq(v))
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case OpGt, OpGte, OpLt, OpLte:
		return "(" + num + " " + sqlOp(vc.Op) + " " + c.arg(vc.Value) + "::float8)"
	case OpContains:
		s := c.arg(vc.Value)
		return "(CASE WHEN " + r.typ + " = 'string' THEN strpos(" + text + ", " + s + "::text) > 0 WHEN " + r.typ +
			" = 'array' THEN " + r.val + " @> jsonb_build_array(" + s + "::text) ELSE FALSE END)"
	}
	norm := "(CASE WHEN " + r.typ + " = 'string' AND " + text + " ~ '" + timeRE.String() + "' THEN " + text +
		" WHEN " + r.typ + " = 'string' AND " + text + " ~ '" + dateRE.String() + "' THEN " + text + " || 'T00:00:00Z' END)"
	return "(" + norm + ` COLLATE "C" ` + sqlOp(vc.Op) + " " + c.arg(timeBound(vc, c.now).Format(TimeLayout)) + "::text)"
}

// timeBound is the time a before, after, within_last or more_than_ago condition compares with
// (sqlOp gives the comparison).
func timeBound(vc ValueCond, now time.Time) time.Time {
	switch v := vc.Value.(type) {
	case time.Time:
		return v
	case Duration:
		return v.Before(now).UTC()
	}
	panic("segment: no time bound for " + string(vc.Op))
}

// renewalWindow is the first and last renewal date (YYYY-MM-DD) within d of now.
func renewalWindow(d Duration, now time.Time) (string, string) {
	return now.UTC().Format(time.DateOnly), d.After(now).UTC().Format(time.DateOnly)
}

// startWindow is the first start date (YYYY-MM-DD) within the last d of now.
func startWindow(d Duration, now time.Time) string {
	return d.Before(now).UTC().Format(time.DateOnly)
}

// compare reports whether a op b.
func compare[T int64 | float64](a T, op Op, b T) bool {
	switch op {
	case OpEq:
		return a == b
	case OpNeq:
		return a != b
	case OpGt:
		return a > b
	case OpGte:
		return a >= b
	case OpLt:
		return a < b
	case OpLte:
		return a <= b
	}
	return false
}
