package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// The segment builder edits a definition as a flat list of form rows: groups (all / any) and
// conditions, each naming its parent group, each with a "not" toggle. The server turns the
// rows into the definition's JSON (rowsToJSON) and a definition back into rows (jsonToRows), so
// the form works without JavaScript; htmx only saves page loads. A node the form cannot show —
// a kind of condition it does not know yet, or one with fields it has no input for — becomes a
// JSON row that is kept as it is, so the builder never loses a condition.

// fieldType says how a form field's text becomes JSON and which input shows it.
type fieldType int

const (
	fieldText     fieldType = iota // a string; a datalist of Options when given
	fieldChoice                    // one of Options, in a select
	fieldOp                        // a comparison, one of Options
	fieldValue                     // the compared value, typed by the "op" beside it
	fieldCount                     // a whole number
	fieldDuration                  // an ISO 8601 duration such as P30D
	fieldSegment                   // another segment's id, picked by name
	fieldScore                     // a score model's id, picked by name
	fieldNumber                    // a number, whole or not
	fieldFilters                   // an event's property filters: property, op, value
)

// condField is one input of a kind of condition.
type condField struct {
	Key      string    // dotted JSON path inside the node: "trait", "op", "contract.product"
	Type     fieldType // how it is shown and converted
	Options  []string  // for fieldChoice, fieldOp, and suggestions for fieldText
	Labels   string    // catalogue prefix of the options' labels ("" shows them as they are)
	Optional bool      // left out of the JSON when empty
	Default  string    // what a new condition starts with
}

// condKind is a kind of condition the form can show. Adding a kind to the language (a score, a
// community fact) is one entry here, plus its catalogue entries segments.kind.<Key> and
// segments.field.<Key>.<field>; until then its nodes show as JSON rows.
type condKind struct {
	Key    string // the node's JSON key
	Fields []condField
}

var (
	valueOps    = []string{"eq", "neq", "gt", "gte", "lt", "lte", "in", "contains", "exists", "not_exists", "before", "after", "within_last", "more_than_ago"}
	countOps    = []string{"eq", "neq", "gt", "gte", "lt", "lte"}
	computedOps = []string{"gte", "gt", "eq", "neq", "lt", "lte", "exists", "not_exists", "before", "after", "within_last", "more_than_ago"}
)

// condKinds are the kinds of condition the builder offers, in its menu's order.
var condKinds = []condKind{
	{Key: "trait", Fields: []condField{
		{Key: "trait", Type: fieldText, Options: []string{"plan", "email", "name", "company", "country", "interests"}},
		{Key: "op", Type: fieldOp, Options: valueOps, Default: "eq"},
		{Key: "value", Type: fieldValue},
	}},
	{Key: "computed", Fields: []condField{
		{Key: "computed", Type: fieldChoice, Labels: "segments.computed.", Default: segment.ComputedLastSeen, Options: []string{
			segment.ComputedLastSeen, segment.ComputedFirstSeen, segment.ComputedLastCommunityActivity,
			segment.ComputedLastLogin, segment.ComputedEvents, segment.ComputedPageViews, segment.ComputedPurchases}},
		{Key: "op", Type: fieldOp, Options: computedOps, Default: "within_last"},
		{Key: "value", Type: fieldValue, Default: "P30D"},
	}},
	{Key: "event", Fields: []condField{
		{Key: "event", Type: fieldText, Options: []string{"Post Created", "Comment Created", "Answer Accepted", "Idea Voted", "Event Registered", "Event Attended", "Product Viewed", "Order Completed"}},
		{Key: "count.op", Type: fieldOp, Options: countOps, Default: "gte"},
		{Key: "count.value", Type: fieldCount, Default: "1"},
		{Key: "within_last", Type: fieldDuration, Optional: true, Default: "P30D"},
		{Key: "where", Type: fieldFilters, Optional: true},
	}},
	{Key: "contract", Fields: []condField{
		{Key: "contract.product", Type: fieldText, Optional: true},
		{Key: "contract.status", Type: fieldChoice, Options: []string{"active", "cancelled", "expired", "any"}, Labels: "segments.contract_status.", Default: "active"},
		{Key: "contract.renews_within", Type: fieldDuration, Optional: true},
	}},
	{Key: "open_tickets", Fields: []condField{
		{Key: "open_tickets.op", Type: fieldOp, Options: countOps, Default: "gte"},
		{Key: "open_tickets.value", Type: fieldCount, Default: "1"},
	}},
	{Key: "consent", Fields: []condField{
		{Key: "consent.channel", Type: fieldChoice, Options: consentChannels(), Labels: "consent.channel.", Default: "email"},
		{Key: "consent.purpose", Type: fieldText, Options: consentPurposes(), Default: "marketing"},
		{Key: "consent.status", Type: fieldChoice, Options: []string{"opted_in", "opted_out", "unknown"}, Labels: "consent.status.", Default: "opted_in"},
	}},
	{Key: "segment", Fields: []condField{
		{Key: "segment", Type: fieldSegment},
	}},
	{Key: "score", Fields: []condField{
		{Key: "score", Type: fieldScore},
		{Key: "op", Type: fieldOp, Options: countOps, Default: "gte"},
		{Key: "value", Type: fieldNumber, Default: "50"},
	}},
	{Key: "space_member", Fields: []condField{
		{Key: "space_member", Type: fieldText},
	}},
	{Key: "attended", Fields: []condField{
		{Key: "attended.event", Type: fieldText, Optional: true},
		{Key: "attended.within_last", Type: fieldDuration, Optional: true, Default: "P90D"},
	}},
	{Key: "accepted_answers", Fields: []condField{
		{Key: "accepted_answers.op", Type: fieldOp, Options: countOps, Default: "gte"},
		{Key: "accepted_answers.value", Type: fieldCount, Default: "5"},
	}},
	{Key: "unanswered_questions", Fields: []condField{
		{Key: "unanswered_questions.op", Type: fieldOp, Options: countOps, Default: "gte"},
		{Key: "unanswered_questions.value", Type: fieldCount, Default: "1"},
		{Key: "unanswered_questions.older_than", Type: fieldDuration, Optional: true, Default: "P1D"},
	}},
}

func consentChannels() []string {
	out := make([]string, len(consent.Channels))
	for i, c := range consent.Channels {
		out[i] = string(c)
	}
	return out
}

func consentPurposes() []string {
	out := make([]string, len(consent.Purposes))
	for i, p := range consent.Purposes {
		out[i] = string(p)
	}
	return out
}

// kindOf returns the condition kind called key.
func kindOf(key string) (condKind, bool) {
	i := slices.IndexFunc(condKinds, func(k condKind) bool { return k.Key == key })
	if i < 0 {
		return condKind{}, false
	}
	return condKinds[i], true
}

// Row kinds besides the condition kinds.
const (
	rowAll  = "all"
	rowAny  = "any"
	rowJSON = "json" // a node kept as JSON
)

// filterRow is one property filter of an event condition.
type filterRow struct{ Property, Op, Value string }

// condRow is one row of the builder: a group or a condition.
type condRow struct {
	N       int               // the row's number; its fields are c<N>.…
	Parent  int               // the row number of its group; -1 for the root group
	Kind    string            // rowAll, rowAny, rowJSON or a condKind key
	Not     bool              // the row is negated
	Values  map[string]string // condition field key → text
	Filters []filterRow       // an event's property filters
	JSON    string            // a JSON row's node
}

func (r *condRow) group() bool { return r.Kind == rowAll || r.Kind == rowAny }

// builder is the rows of one definition, in form order; rows[0] is the root group.
type builder struct {
	rows []*condRow
	// bare: while the root group holds one condition, the definition is that condition, not a
	// group of one. True for a new definition and one read from a single condition, false for
	// one read from a group, so that a definition round-trips as it was written.
	bare bool
}

// newBuilder is an empty definition: a root "all" group with one trait condition.
func newBuilder() *builder {
	b := &builder{rows: []*condRow{{N: 0, Parent: -1, Kind: rowAll}}, bare: true}
	b.add(0, "trait")
	return b
}

func (b *builder) row(n int) *condRow {
	for _, r := range b.rows {
		if r.N == n {
			return r
		}
	}
	return nil
}

func (b *builder) next() int {
	n := 0
	for _, r := range b.rows {
		n = max(n, r.N+1)
	}
	return n
}

// children returns the rows of group n, in form order.
func (b *builder) children(n int) []*condRow {
	var out []*condRow
	for _, r := range b.rows {
		if r.Parent == n && r.N != n {
			out = append(out, r)
		}
	}
	return out
}

// add appends a new condition of kind (or a group, rowAll / rowAny, holding one trait condition)
// to group parent and returns it; nil when parent is no group or kind is unknown.
func (b *builder) add(parent int, kind string) *condRow {
	if p := b.row(parent); p == nil || !p.group() {
		return nil
	}
	r := &condRow{N: b.next(), Parent: parent, Kind: kind, Values: map[string]string{}}
	switch {
	case r.group():
		b.rows = append(b.rows, r)
		b.add(r.N, "trait")
		return r
	case kind == rowJSON:
	default:
		k, ok := kindOf(kind)
		if !ok {
			return nil
		}
		for _, f := range k.Fields {
			r.Values[f.Key] = f.Default
		}
	}
	b.rows = append(b.rows, r)
	return r
}

// remove takes row n and everything under it out; the root stays.
func (b *builder) remove(n int) {
	if n == 0 {
		return
	}
	gone := map[int]bool{n: true}
	for changed := true; changed; {
		changed = false
		for _, r := range b.rows {
			if !gone[r.N] && gone[r.Parent] {
				gone[r.N], changed = true, true
			}
		}
	}
	b.rows = slices.DeleteFunc(b.rows, func(r *condRow) bool { return gone[r.N] })
}

var rowFieldRE = regexp.MustCompile(`^c([0-9]{1,4})\.kind$`)

// builderFromForm reads the rows a builder form posted. Rows whose parent is missing or no group
// are dropped (they cannot be placed); a form without rows is a new builder.
func builderFromForm(f url.Values) *builder {
	var ns []int
	for k := range f {
		if m := rowFieldRE.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	b := &builder{bare: f.Get("bare") == "1"}
	for _, n := range ns {
		p := fmt.Sprintf("c%d.", n)
		r := &condRow{N: n, Parent: -1, Kind: f.Get(p + "kind"), Not: f.Get(p+"not") == "1", Values: map[string]string{}}
		if s := f.Get(p + "parent"); s != "" {
			r.Parent, _ = strconv.Atoi(s)
		}
		switch {
		case r.group():
		case r.Kind == rowJSON:
			r.JSON = f.Get(p + "json")
		default:
			k, ok := kindOf(r.Kind)
			if !ok {
				continue
			}
			for _, fd := range k.Fields {
				if fd.Type == fieldFilters {
					props, ops, vals := f[p+"w.property"], f[p+"w.op"], f[p+"w.value"]
					for i, prop := range props {
						fr := filterRow{Property: strings.TrimSpace(prop)}
						if i < len(ops) {
							fr.Op = ops[i]
						}
						if i < len(vals) {
							fr.Value = vals[i]
						}
						if fr.Property != "" || strings.TrimSpace(fr.Value) != "" {
							r.Filters = append(r.Filters, fr)
						}
					}
					continue
				}
				r.Values[fd.Key] = f.Get(p + "f." + fd.Key)
			}
		}
		b.rows = append(b.rows, r)
	}
	if len(b.rows) == 0 || b.rows[0].Parent != -1 || !b.rows[0].group() {
		return newBuilder()
	}
	// Keep only rows that hang from the root through groups, in form order.
	placed := map[int]bool{b.rows[0].N: true}
	out := []*condRow{b.rows[0]}
	for changed := true; changed; {
		changed = false
		for _, r := range b.rows[1:] {
			if placed[r.N] || !placed[r.Parent] {
				continue
			}
			if p := b.row(r.Parent); p == nil || !p.group() {
				continue
			}
			placed[r.N], changed = true, true
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out[1:], func(x, y *condRow) int { return x.N - y.N })
	b.rows = out
	return b
}

// toJSON turns the rows into the definition's JSON, and returns the JSON path of every row
// (definition, definition.all[0], …) for placing errors. A bare root group of one condition
// that is not negated is written as that condition.
func (b *builder) toJSON() (json.RawMessage, map[int]string, error) {
	paths := map[int]string{}
	root := b.rows[0]
	kids := b.children(root.N)
	var node any
	var err error
	if b.bare && len(kids) == 1 && !root.Not {
		paths[root.N] = "definition"
		node, err = b.node(kids[0], "definition", paths)
	} else {
		node, err = b.node(root, "definition", paths)
	}
	if err != nil {
		return nil, paths, err
	}
	raw, err := json.Marshal(node)
	return raw, paths, err
}

// node is row r as a JSON value at path.
func (b *builder) node(r *condRow, path string, paths map[int]string) (any, error) {
	paths[r.N] = path
	inner := path
	if r.Not {
		inner = path + ".not"
	}
	var n any
	switch {
	case r.group():
		kids := b.children(r.N)
		list := make([]any, 0, len(kids))
		for i, k := range kids {
			x, err := b.node(k, fmt.Sprintf("%s.%s[%d]", inner, r.Kind, i), paths)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		n = map[string]any{r.Kind: list}
	case r.Kind == rowJSON:
		var x any
		if err := json.Unmarshal([]byte(r.JSON), &x); err != nil {
			return nil, &rowError{N: r.N, Msg: "json"}
		}
		n = x
	default:
		k, _ := kindOf(r.Kind)
		n = k.toJSON(r)
	}
	if r.Not {
		return map[string]any{"not": n}, nil
	}
	return n, nil
}

// rowError is a row whose text is not JSON at all (a JSON row, or the advanced textarea).
type rowError struct {
	N   int
	Msg string
}

func (e *rowError) Error() string { return fmt.Sprintf("row %d: %s", e.N, e.Msg) }

// toJSON is a condition row as the node's JSON object.
func (k condKind) toJSON(r *condRow) map[string]any {
	m := map[string]any{}
	for _, f := range k.Fields {
		text := strings.TrimSpace(r.Values[f.Key])
		switch f.Type {
		case fieldFilters:
			if len(r.Filters) == 0 {
				continue
			}
			list := make([]any, len(r.Filters))
			for i, fr := range r.Filters {
				x := map[string]any{"property": strings.TrimSpace(fr.Property), "op": fr.Op}
				if v, ok := typedValue(fr.Op, fr.Value); ok {
					x["value"] = v
				}
				list[i] = x
			}
			setPath(m, f.Key, list)
		case fieldValue:
			op := strings.TrimSpace(r.Values[siblingKey(f.Key, "op")])
			if v, ok := typedValue(op, r.Values[f.Key]); ok {
				setPath(m, f.Key, v)
			}
		case fieldCount:
			if text == "" && f.Optional {
				continue
			}
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				setPath(m, f.Key, n)
			} else {
				setPath(m, f.Key, text) // segment.Parse names the field
			}
		case fieldNumber:
			if x, err := strconv.ParseFloat(text, 64); err == nil {
				setPath(m, f.Key, x)
			} else {
				setPath(m, f.Key, text) // segment.Parse names the field
			}
		default:
			if text == "" && f.Optional {
				continue
			}
			setPath(m, f.Key, text)
		}
	}
	if _, ok := m[k.Key]; !ok {
		m[k.Key] = map[string]any{} // every field left out: {"attended":{}}
	}
	return m
}

// siblingKey is the key name beside key: ("count.value", "op") → "count.op".
func siblingKey(key, name string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i+1] + name
	}
	return name
}

// typedValue is the JSON value of text compared by op, and false when op takes none.
// For eq and neq, text that reads as a JSON number, true, false or a quoted string is that
// value, anything else a string; for in, a JSON list or values separated by commas, each read
// so; gt … lte take a number; the others a string. What does not fit goes as a string, and
// segment.Parse names the field.
func typedValue(op, text string) (any, bool) {
	text = strings.TrimSpace(text)
	switch op {
	case "exists", "not_exists":
		return nil, false
	case "eq", "neq":
		return scalarText(text), true
	case "in":
		if strings.HasPrefix(text, "[") {
			var list []any
			if err := json.Unmarshal([]byte(text), &list); err == nil {
				return list, true
			}
			return text, true
		}
		var list []any
		for _, part := range strings.Split(text, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, scalarText(part))
			}
		}
		return list, true
	case "gt", "gte", "lt", "lte":
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f, true
		}
		return text, true
	}
	return quotedText(text), true
}

// quotedText reads a JSON string in quotes as that string (which keeps spaces at its ends), and
// anything else as the text itself.
func quotedText(text string) string {
	var s string
	if strings.HasPrefix(text, `"`) && json.Unmarshal([]byte(text), &s) == nil {
		return s
	}
	return text
}

// needsQuotes reports whether s, typed into the form as it is, would not read back as s: spaces
// at its ends are trimmed, and a leading quote starts a JSON string.
func needsQuotes(s string) bool {
	return strings.TrimSpace(s) != s || strings.HasPrefix(s, `"`)
}

// scalarText reads a number, true, false or a quoted string as JSON, anything else as a string.
func scalarText(text string) any {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err == nil {
		switch v.(type) {
		case float64, bool, string:
			return v
		}
	}
	return text
}

// setPath sets the dotted key in m, making the objects on the way.
func setPath(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// builderFromJSON turns a definition into rows. Every node the form cannot show becomes a JSON
// row; raw that is not JSON at all is an error.
func builderFromJSON(raw []byte) (*builder, error) {
	var x any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return nil, &rowError{N: -1, Msg: "json"}
	}
	if d.More() {
		return nil, &rowError{N: -1, Msg: "json"}
	}
	b := &builder{bare: true}
	root := &condRow{N: 0, Parent: -1, Kind: rowAll}
	b.rows = append(b.rows, root)
	if m, ok := x.(map[string]any); ok && len(m) == 1 && (m["all"] != nil || m["any"] != nil) {
		kind := rowAll
		if m["any"] != nil {
			kind = rowAny
		}
		if list, ok := m[kind].([]any); ok && len(list) > 0 {
			root.Kind, b.bare = kind, false
			for _, c := range list {
				b.place(c, 0)
			}
			return b, nil
		}
	}
	b.place(x, 0)
	return b, nil
}

// place adds node x under group parent.
func (b *builder) place(x any, parent int) {
	r := &condRow{N: b.next(), Parent: parent, Values: map[string]string{}}
	if m, ok := x.(map[string]any); ok && len(m) == 1 {
		if inner, ok := m["not"]; ok {
			r.Not = true
			x = inner
		}
	}
	m, _ := x.(map[string]any)
	if len(m) == 1 {
		for _, g := range []string{rowAll, rowAny} {
			if list, ok := m[g].([]any); ok && len(list) > 0 {
				r.Kind = g
				b.rows = append(b.rows, r)
				for _, c := range list {
					b.place(c, r.N)
				}
				return
			}
		}
	}
	for _, k := range condKinds {
		if _, ok := m[k.Key]; ok && k.fromJSON(m, r) {
			r.Kind = k.Key
			b.rows = append(b.rows, r)
			return
		}
	}
	r.Kind, r.Values = rowJSON, nil
	js, _ := json.Marshal(x)
	r.JSON = string(js)
	b.rows = append(b.rows, r)
}

// fromJSON fills r from node m and reports whether every field of m has an input of k.
func (k condKind) fromJSON(m map[string]any, r *condRow) bool {
	leaves := map[string]any{}
	flatten("", m, leaves)
	op := ""
	for _, f := range k.Fields {
		if f.Type == fieldOp {
			if s, ok := leaves[f.Key].(string); ok {
				op = s
			}
		}
	}
	for _, f := range k.Fields {
		if f.Type == fieldFilters {
			list, ok := leaves[f.Key]
			if !ok {
				continue
			}
			delete(leaves, f.Key)
			items, ok := list.([]any)
			if !ok {
				return false
			}
			for _, it := range items {
				fm, ok := it.(map[string]any)
				if !ok {
					return false
				}
				prop, _ := fm["property"].(string)
				fop, _ := fm["op"].(string)
				text, ok := valueText(fop, fm["value"])
				if !ok || len(fm) > 3 || prop == "" {
					return false
				}
				for key := range fm {
					if key != "property" && key != "op" && key != "value" {
						return false
					}
				}
				r.Filters = append(r.Filters, filterRow{Property: prop, Op: fop, Value: text})
			}
			continue
		}
		v, ok := leaves[f.Key]
		if !ok {
			if !f.Optional {
				// The language's default for a field left out (a count of at least one, an
				// active contract, an opt-in) is the form's.
				r.Values[f.Key] = f.Default
			}
			continue
		}
		delete(leaves, f.Key)
		var text string
		switch f.Type {
		case fieldValue:
			if text, ok = valueText(op, v); !ok {
				return false
			}
		case fieldCount, fieldNumber:
			n, isNum := v.(json.Number)
			if !isNum {
				return false
			}
			text = n.String()
		default:
			s, isStr := v.(string)
			if !isStr {
				return false
			}
			text = s
		}
		r.Values[f.Key] = text
	}
	if x, ok := leaves[k.Key].(map[string]any); ok && len(x) == 0 {
		delete(leaves, k.Key) // every field left out: {"attended":{}}
	}
	return len(leaves) == 0
}

// flatten puts the leaves of m under their dotted keys; lists are leaves.
func flatten(prefix string, m map[string]any, into map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(prefix+k+".", sub, into)
			continue
		}
		into[prefix+k] = v
	}
}

// valueText is the form text of a compared value, which typedValue reads back as the same
// value; false when the form cannot hold it.
func valueText(op string, v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case string:
		quote := needsQuotes(x)
		if op == "eq" || op == "neq" || op == "in" {
			_, isStr := scalarText(x).(string)
			quote = quote || !isStr || (op == "in" && strings.ContainsAny(x, ",["))
		}
		if quote {
			b, _ := json.Marshal(x)
			if op == "in" {
				return "[" + string(b) + "]", true
			}
			return string(b), true
		}
		return x, true
	case []any:
		if op != "in" {
			return "", false
		}
		parts := make([]string, len(x))
		plain := true
		for i, e := range x {
			t, ok := valueText("eq", e)
			if !ok {
				return "", false
			}
			if s, isStr := e.(string); isStr && (strings.ContainsAny(s, ",[") || t != s) {
				plain = false
			}
			parts[i] = t
		}
		if plain {
			return strings.Join(parts, ", "), true
		}
		b, _ := json.Marshal(x)
		return string(b), true
	}
	return "", false
}

// rowFor returns the row a definition error at the JSON path field belongs to: the deepest row
// whose path starts it. -1 when none does (the root's own errors belong to the root, 0).
func rowFor(paths map[int]string, field string) int {
	best, bestLen := -1, -1
	for n, p := range paths {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") {
			if len(p) > bestLen || (len(p) == bestLen && n > best) {
				best, bestLen = n, len(p)
			}
		}
	}
	return best
}
