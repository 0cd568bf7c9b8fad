package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// segmentMembersPerPage is how many members the segment page lists at a time.
const segmentMembersPerPage = 50

// segmentChartDays is how far back the segment page's size chart goes.
const segmentChartDays = 90

// segmentRoutes are the staff's segments: the list, the builder (new and edit) with its live
// preview, one page per segment with its size over time and members, and the CSV export. Staff
// who see members read them; marketers (accounts.PermManageMarketing) build and delete them, the
// same decision as the API's.
func (s *Web) segmentRoutes(handle func(string, pageHandler)) {
	const read, write = accounts.PermViewMembers, accounts.PermManageMarketing
	handle("GET /admin/segments", s.staff(read, s.adminSegments))
	handle("GET /admin/segments/new", s.staff(write, s.segmentBuilder))
	handle("POST /admin/segments/new", s.staff(write, s.segmentBuilder))
	handle("POST /admin/segments/preview", s.staff(write, s.segmentPreview))
	handle("GET /admin/segments/{id}", s.staff(read, s.adminSegment))
	handle("GET /admin/segments/{id}/edit", s.staff(write, s.segmentBuilder))
	handle("POST /admin/segments/{id}/edit", s.staff(write, s.segmentBuilder))
	handle("POST /admin/segments/{id}/delete", s.staff(write, s.deleteSegment))
	handle("GET /admin/segments/{id}/members.csv", s.staff(write, s.segmentCSV))
}

// segmentsData is the list of segments.
type segmentsData struct {
	Segments []segment.Segment
	Creators map[string]string // created_by → how the list names them
	CanEdit  bool
}

func (s *Web) adminSegments(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.segments"), "segments"
	list, err := s.seg.List(r.Context(), v.principal())
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := segmentsData{Segments: list, Creators: map[string]string{}, CanEdit: accounts.Allowed(v.principal(), accounts.PermManageMarketing)}
	for _, sg := range list {
		if _, ok := d.Creators[sg.CreatedBy]; !ok {
			d.Creators[sg.CreatedBy] = s.creatorName(r.Context(), v, sg.CreatedBy)
		}
	}
	switch r.URL.Query().Get("notice") {
	case "deleted":
		v.Notice = v.T("segments.deleted_notice")
	}
	v.Data = d
	s.render(w, r, 0, "admin-segments", v)
}

// creatorName words who created a segment: a member's display name, an API key, or Kizuna.
func (s *Web) creatorName(ctx context.Context, v *view, actor string) string {
	switch {
	case actor == "system" || actor == "":
		return v.T("customer.by_system")
	case strings.HasPrefix(actor, "api_key:"):
		return v.T("segments.by_api_key")
	}
	if m, err := s.acc.GetMember(ctx, actor); err == nil {
		return m.DisplayName
	}
	return actor
}

// builderData is the segment builder: the form's rows as a tree, the advanced JSON, the errors
// placed on their rows, and the preview when the form asked for one without JavaScript.
type builderData struct {
	V         *view
	Action    string // where the form posts
	SegmentID string // the segment edited; "" for a new one
	Bare      bool   // see builder.bare
	Name      string
	NameErr   string
	Root      *builderNode
	JSONBox   *jsonBox
	Alert     string
	Preview   *previewData
	Kinds     []option   // the kinds of condition the add menus offer
	Lists     []datalist // suggestions for text fields
}

// jsonBox is the advanced JSON textarea.
type jsonBox struct {
	V    *view
	JSON string // the definition as indented JSON, or the text that could not be read
	Err  string
	OOB  bool // sent beside the preview, to replace the one on the page
}

// datalist is a list of suggestions for a text input.
type datalist struct {
	ID      string
	Options []string
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// builderNode is a row of the builder as the template shows it.
type builderNode struct {
	V         *view
	N         int
	Parent    int
	Kind      string
	KindLabel string
	Not       bool
	Group     bool
	JSONRow   bool
	JSON      string
	Err       string // the message of a definition error at this row
	ErrPath   string // its JSON path
	Fields    []builderField
	Filters   []filterRow // an event's filters, with one empty row to add another
	FilterOps []option
	HasWhere  bool
	Children  []*builderNode
	Kinds     []option
	Depth     int
}

// builderField is one input of a condition row.
type builderField struct {
	Name    string // the form field, c<N>.f.<key>
	ID      string
	Label   string
	Type    string // text, select, number
	Value   string
	Options []option
	List    string // a datalist's id, for suggestions
	Hint    string
	Hidden  bool // a value that its op does not take
}

// Prefix is the form field prefix of the row, c<N>.
func (n *builderNode) Prefix() string { return "c" + strconv.Itoa(n.N) + "." }

// FilterOptions are the comparison choices of a filter row with op selected.
func (n *builderNode) FilterOptions(selected string) []option {
	out := make([]option, len(valueOps))
	for i, op := range valueOps {
		out[i] = option{Value: op, Label: n.V.T("segments.op." + op), Selected: op == selected}
	}
	return out
}

// segmentBuilder serves the builder of a new segment (/admin/segments/new) and of an existing
// one (/admin/segments/{id}/edit). A post either changes the form (add or remove a condition or
// group, apply the advanced JSON, preview) and shows it again, or saves it.
func (s *Web) segmentBuilder(w http.ResponseWriter, r *http.Request, v *view) {
	v.Section = "segments"
	ctx, p := r.Context(), v.principal()
	id := r.PathValue("id")
	d := &builderData{V: v, Action: "/admin/segments/new", SegmentID: id, JSONBox: &jsonBox{V: v}}
	v.Title = v.T("segments.new")
	var b *builder
	if id != "" {
		d.Action = "/admin/segments/" + url.PathEscape(id) + "/edit"
		v.Title = v.T("segments.edit")
	}
	if r.Method == http.MethodGet {
		b = newBuilder()
		if id != "" {
			sg, err := s.seg.Get(ctx, p, id)
			if err != nil {
				s.fail(w, r, v, err)
				return
			}
			d.Name = sg.Name
			raw, _ := json.Marshal(sg.Definition)
			if b, err = builderFromJSON(raw); err != nil {
				s.fail(w, r, v, err)
				return
			}
		}
		s.renderBuilder(w, r, v, d, b, nil, 0)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, v, errs.Invalid("form", "the form could not be read"))
		return
	}
	d.Name = strings.TrimSpace(r.PostForm.Get("name"))
	do := r.PostForm.Get("do")
	b, _, jsonErr := builderFromPost(r.PostForm, do == "json", r.PostForm.Get("last_edit") == "rows")
	if jsonErr {
		d.JSONBox.Err, d.JSONBox.JSON = v.T("segments.json_invalid"), r.PostForm.Get("definition")
	}
	action, arg, _ := strings.Cut(do, ":")
	n, _ := strconv.Atoi(arg)
	switch action {
	case "add":
		kind := r.PostForm.Get(fmt.Sprintf("c%d.add", n))
		if kind == rowAll || kind == rowAny {
			kind = "trait"
		}
		b.add(n, kind)
	case "group":
		b.add(n, rowAny)
	case "remove":
		b.remove(n)
	case "preview":
		raw, paths, err := b.toJSON()
		d.Preview = s.preview(ctx, v, id, raw, err)
		s.renderBuilder(w, r, v, d, b, paths, 0)
		return
	case "save":
		if !jsonErr {
			s.saveSegment(w, r, v, d, b)
			return
		}
	}
	s.renderBuilder(w, r, v, d, b, nil, 0)
}

// builderFromPost reads the builder's rows from a post: from the advanced JSON when asked to
// (force) or when its text was edited since it was shown (fromJSON), else from the form's rows.
// rowsEdited says a row was changed after the JSON (the page's script keeps last_edit): the rows
// then win over JSON edited and not applied, as the staff member's latest change. bad reports
// JSON that cannot be read; the rows are then the form's.
func builderFromPost(f url.Values, force, rowsEdited bool) (b *builder, fromJSON, bad bool) {
	text, base := f.Get("definition"), f.Get("definition_base")
	if force || (!rowsEdited && strings.TrimSpace(text) != "" && normalizeJSON(text) != normalizeJSON(base)) {
		if b, err := builderFromJSON([]byte(text)); err == nil {
			return b, true, false
		}
		return builderFromForm(f), false, true
	}
	return builderFromForm(f), false, false
}

// normalizeJSON compacts JSON text so that whitespace changes (a browser's line endings) do not
// count as an edit; text that is not JSON is returned as it is.
func normalizeJSON(text string) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return strings.TrimSpace(text)
	}
	return buf.String()
}

// saveSegment creates or updates the segment from the builder, or shows the form again with
// each error beside its row.
func (s *Web) saveSegment(w http.ResponseWriter, r *http.Request, v *view, d *builderData, b *builder) {
	ctx, p := r.Context(), v.principal()
	raw, paths, err := b.toJSON()
	if err == nil {
		var sg segment.Segment
		if d.SegmentID == "" {
			sg, err = s.seg.Create(ctx, p, d.Name, raw)
		} else {
			sg, err = s.seg.Update(ctx, p, d.SegmentID, d.Name, raw)
		}
		if err == nil {
			notice := "created"
			if d.SegmentID != "" {
				notice = "updated"
			}
			s.redirect(w, r, "/admin/segments/"+url.PathEscape(sg.ID)+"?notice="+notice)
			return
		}
	}
	var re *rowError
	if errors.As(err, &re) {
		s.renderBuilder(w, r, v, d, b, paths, http.StatusUnprocessableEntity, rowMessage{re.N, v.T("segments.json_invalid"), ""})
		return
	}
	e, ok := errAs(err)
	if !ok || e.Kind == errs.KindNotFound || e.Kind == errs.KindForbidden {
		s.fail(w, r, v, err)
		return
	}
	msg := s.message(v, e)
	switch {
	case e.Field == "name":
		d.NameErr = v.T("segments.name_invalid")
		s.renderBuilder(w, r, v, d, b, paths, http.StatusUnprocessableEntity)
	case strings.HasPrefix(e.Field, "definition"):
		s.renderBuilder(w, r, v, d, b, paths, http.StatusUnprocessableEntity, rowMessage{rowFor(paths, e.Field), msg, e.Field})
	default:
		d.Alert = msg
		s.renderBuilder(w, r, v, d, b, paths, http.StatusUnprocessableEntity)
	}
}

// rowMessage is an error to show beside row N (-1: above the form).
type rowMessage struct {
	N         int
	Msg, Path string
}

// renderBuilder shows the builder page, or for htmx the builder alone.
func (s *Web) renderBuilder(w http.ResponseWriter, r *http.Request, v *view, d *builderData, b *builder, paths map[int]string, status int, errsAt ...rowMessage) {
	raw, p2, err := b.toJSON()
	if paths == nil {
		paths = p2
	}
	if d.JSONBox.JSON == "" {
		d.JSONBox.JSON = prettyDefinition(raw, err)
	}
	rowErr := map[int]rowMessage{}
	for _, m := range errsAt {
		if m.N < 0 {
			d.Alert = m.Msg
			continue
		}
		rowErr[m.N] = m
	}
	d.Kinds = kindOptions(v, "trait")
	d.Lists = nil
	for _, k := range condKinds {
		for _, f := range k.Fields {
			if f.Type == fieldText && len(f.Options) > 0 {
				d.Lists = append(d.Lists, datalist{ID: "list-" + k.Key + "-" + idUnsafe.ReplaceAllString(f.Key, "-"), Options: f.Options})
			}
		}
	}
	// The segments and score models a condition may refer to, listed once for every row.
	var refs builderRefs
	if refs.segments, err = s.seg.List(r.Context(), v.principal()); err != nil {
		s.fail(w, r, v, err)
		return
	}
	if s.scores != nil {
		if refs.scores, err = s.scores.List(r.Context(), v.principal()); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	d.Bare = b.bare
	d.Root = s.builderTree(v, b, b.rows[0], rowErr, refs, 0)
	v.Data = d
	if isHTMX(r) {
		s.fragment(w, r, status, "admin-segment-edit", "segment-builder", d)
		return
	}
	s.render(w, r, status, "admin-segment-edit", v)
}

// prettyDefinition is the definition as indented canonical JSON when it parses, else indented
// as it is.
func prettyDefinition(raw json.RawMessage, err error) string {
	if err != nil {
		return ""
	}
	if n, perr := segment.Parse(raw); perr == nil {
		if canon, merr := json.Marshal(n); merr == nil {
			raw = canon
		}
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// kindOptions are the kinds of condition to add, with selected first chosen.
func kindOptions(v *view, selected string) []option {
	out := make([]option, 0, len(condKinds))
	for _, k := range condKinds {
		out = append(out, option{Value: k.Key, Label: v.T("segments.kind." + k.Key), Selected: k.Key == selected})
	}
	return out
}

// builderRefs are what conditions may refer to: other segments and score models.
type builderRefs struct {
	segments []segment.Segment
	scores   []score.Model
}

// builderTree turns the rows under r into the template's tree.
func (s *Web) builderTree(v *view, b *builder, r *condRow, rowErr map[int]rowMessage, refs builderRefs, depth int) *builderNode {
	n := &builderNode{V: v, N: r.N, Parent: r.Parent, Kind: r.Kind, Not: r.Not, Group: r.group(), JSONRow: r.Kind == rowJSON, JSON: r.JSON, Depth: depth}
	if m, ok := rowErr[r.N]; ok {
		n.Err, n.ErrPath = m.Msg, m.Path
	}
	switch {
	case n.Group:
		n.Kinds = kindOptions(v, "trait")
		for _, c := range b.children(r.N) {
			n.Children = append(n.Children, s.builderTree(v, b, c, rowErr, refs, depth+1))
		}
	case n.JSONRow:
		n.KindLabel = v.T("segments.kind.json")
	default:
		k, _ := kindOf(r.Kind)
		n.KindLabel = v.T("segments.kind." + k.Key)
		op := ""
		for _, f := range k.Fields {
			if f.Type == fieldOp {
				op = r.Values[f.Key]
			}
		}
		for _, f := range k.Fields {
			if f.Type == fieldFilters {
				n.HasWhere = true
				n.Filters = append(append([]filterRow(nil), r.Filters...), filterRow{Op: "eq"})
				continue
			}
			n.Fields = append(n.Fields, builderInput(v, r, k, f, op, refs))
		}
	}
	return n
}

var idUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// builderInput is the input of field f of condition row r; refs are what a segment or score
// condition may pick.
func builderInput(v *view, r *condRow, k condKind, f condField, op string, refs builderRefs) builderField {
	name := fmt.Sprintf("c%d.f.%s", r.N, f.Key)
	bf := builderField{Name: name, ID: idUnsafe.ReplaceAllString(name, "-"), Label: v.T("segments.field." + k.Key + "." + f.Key), Value: r.Values[f.Key], Type: "text"}
	choices := func(selected string) []option {
		out := make([]option, 0, len(f.Options)+1)
		found := false
		for _, o := range f.Options {
			label := o
			if f.Labels != "" {
				label = v.catOr(f.Labels+o, o)
			} else if f.Type == fieldOp {
				label = v.T("segments.op." + o)
			}
			found = found || o == selected
			out = append(out, option{Value: o, Label: label, Selected: o == selected})
		}
		if !found && selected != "" { // a value the menu does not list stays as it is
			out = append(out, option{Value: selected, Label: selected, Selected: true})
		}
		return out
	}
	switch f.Type {
	case fieldChoice, fieldOp:
		bf.Type, bf.Options = "select", choices(bf.Value)
	case fieldText:
		if len(f.Options) > 0 {
			bf.List = "list-" + k.Key + "-" + idUnsafe.ReplaceAllString(f.Key, "-")
		}
	case fieldCount:
		bf.Type = "number"
	case fieldDuration:
		bf.Hint = v.T("segments.duration_hint")
	case fieldValue:
		bf.Hidden = op == "exists" || op == "not_exists"
		bf.Hint = valueHint(v, op)
	case fieldNumber:
		bf.Type = "number"
	case fieldSegment:
		bf.Type = "select"
		bf.Options = refChoices(v, "segments.pick_segment", refs.segments, func(x segment.Segment) (string, string) { return x.ID, x.Name }, r.Values[f.Key])
	case fieldScore:
		bf.Type = "select"
		bf.Options = refChoices(v, "segments.pick_score", refs.scores, func(x score.Model) (string, string) { return x.ID, x.Name }, r.Values[f.Key])
	}
	return bf
}

// valueHint says what a value field takes for op.
func valueHint(v *view, op string) string {
	switch op {
	case "in":
		return v.T("segments.value_hint.in")
	case "before", "after":
		return v.T("segments.value_hint.time")
	case "within_last", "more_than_ago":
		return v.T("segments.duration_hint")
	}
	return ""
}

// refChoices lists what a condition may refer to (segments or score models), by name, after a
// "pick one" prompt; a selected id not among them (since deleted) stays, so the error names it.
func refChoices[T any](v *view, prompt string, list []T, idName func(T) (string, string), selected string) []option {
	out := []option{{Value: "", Label: v.T(prompt), Selected: selected == ""}}
	found := selected == ""
	for _, x := range list {
		id, name := idName(x)
		found = found || id == selected
		out = append(out, option{Value: id, Label: name, Selected: id == selected})
	}
	if !found {
		out = append(out, option{Value: selected, Label: selected, Selected: true})
	}
	return out
}

// previewData is the live count and sample of a draft.
type previewData struct {
	V      *view
	Count  int64
	Sample []sampleMember
	Err    string // the draft's error, with its path
	Path   string
	// JSONBox, when set, replaces the advanced JSON on the page (out of band).
	JSONBox *jsonBox
}

// sampleMember is one member of a preview's sample.
type sampleMember struct{ ID, Name, Email string }

// segmentPreview answers the builder's live preview: the count and the first members of the
// draft the form holds, stored nowhere.
func (s *Web) segmentPreview(w http.ResponseWriter, r *http.Request, v *view) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, v, errs.Invalid("form", "the form could not be read"))
		return
	}
	b, fromJSON, bad := builderFromPost(r.PostForm, false, r.PostForm.Get("last_edit") == "rows")
	var d *previewData
	if bad {
		d = &previewData{V: v, Err: v.T("segments.json_invalid")}
	} else {
		raw, _, err := b.toJSON()
		d = s.preview(r.Context(), v, r.PostForm.Get("segment_id"), raw, err)
		if !fromJSON && err == nil {
			// The rows changed: the advanced JSON follows, so that editing it never starts from
			// a stale definition (which, once changed, would win over the rows).
			d.JSONBox = &jsonBox{V: v, JSON: prettyDefinition(raw, nil), OOB: true}
		}
	}
	s.fragment(w, r, http.StatusOK, "admin-segment-edit", "segment-preview-answer", d)
}

// preview runs a draft for the builder; its errors become the preview's message.
func (s *Web) preview(ctx context.Context, v *view, segmentID string, raw json.RawMessage, convErr error) *previewData {
	d := &previewData{V: v}
	if convErr != nil {
		d.Err = v.T("segments.json_invalid")
		return d
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pv, err := s.seg.Preview(ctx, v.principal(), segmentID, raw)
	if err != nil {
		if e, ok := errAs(err); ok {
			d.Err, d.Path = s.message(v, e), e.Field
			return d
		}
		s.log.ErrorContext(ctx, "segment preview failed", "err", err, "request_id", v.RequestID)
		d.Err = v.T("error.internal.body", v.RequestID)
		return d
	}
	d.Count = pv.Count
	members := make([]segment.Member, len(pv.Sample))
	for i, id := range pv.Sample {
		members[i] = segment.Member{ID: id}
	}
	rows, err := s.seg.WithTraits(ctx, v.principal(), members, []string{"name", "email"})
	if err != nil {
		s.log.WarnContext(ctx, "reading the preview's names", "err", err, "request_id", v.RequestID)
	}
	for _, m := range rows {
		name, _ := m.Traits["name"].(string)
		email, _ := m.Traits["email"].(string)
		d.Sample = append(d.Sample, sampleMember{ID: m.ID, Name: name, Email: email})
	}
	return d
}

// segmentData is the page of one segment.
type segmentData struct {
	V        *view
	Segment  segment.Segment
	Creator  string
	Describe *descNode
	JSON     string // the definition, indented
	Sizes    []segment.Size
	Chart    string // the chart's points as JSON [[unix seconds, count]…]
	Members  []segmentMemberRow
	After    string // the cursor of this page ("" for the first)
	Next     string // the cursor of the next page, or ""
	CanEdit  bool
	UsedBy   []segment.Segment // segments that refer to this one
}

// segmentMemberRow is one member in the segment page's list.
type segmentMemberRow struct {
	segment.MemberRow
	Name, Email, Plan string
}

func (s *Web) adminSegment(w http.ResponseWriter, r *http.Request, v *view) {
	v.Section = "segments"
	ctx, p := r.Context(), v.principal()
	id := r.PathValue("id")
	sg, err := s.seg.Get(ctx, p, id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Title = sg.Name
	d := segmentData{V: v, Segment: sg, Creator: s.creatorName(ctx, v, sg.CreatedBy), CanEdit: accounts.Allowed(p, accounts.PermManageMarketing)}
	all, err := s.seg.List(ctx, p)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	names := map[string]string{} // segment and score model ids → names, for the definition in words
	if s.scores != nil {
		models, err := s.scores.List(ctx, p)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for _, m := range models {
			names[m.ID] = m.Name
		}
	}
	for _, x := range all {
		names[x.ID] = x.Name
		for _, ref := range x.Definition.Refs() {
			if ref == id {
				d.UsedBy = append(d.UsedBy, x)
			}
		}
	}
	raw, _ := json.Marshal(sg.Definition)
	d.JSON = prettyDefinition(raw, nil)
	if b, err := builderFromJSON(raw); err == nil {
		d.Describe = describeTree(v, b, b.rows[0], names)
	}
	if d.Sizes, err = s.seg.Sizes(ctx, p, id, time.Now().AddDate(0, 0, -segmentChartDays)); err != nil {
		s.fail(w, r, v, err)
		return
	}
	points := make([][2]int64, len(d.Sizes))
	for i, x := range d.Sizes {
		points[i] = [2]int64{x.At.Unix(), x.Count}
	}
	chart, _ := json.Marshal(points)
	d.Chart = string(chart)
	d.After = r.URL.Query().Get("after")
	page, next, err := s.seg.Members(ctx, p, id, d.After, segmentMembersPerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Next = next
	rows, err := s.seg.WithTraits(ctx, p, page, segment.ExportTraits)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	for _, m := range rows {
		mr := segmentMemberRow{MemberRow: m}
		mr.Name, _ = m.Traits["name"].(string)
		mr.Email, _ = m.Traits["email"].(string)
		mr.Plan = traitValue(m.Traits["plan"])
		d.Members = append(d.Members, mr)
	}
	switch r.URL.Query().Get("notice") {
	case "created":
		v.Notice = v.T("segments.created_notice")
	case "updated":
		v.Notice = v.T("segments.updated_notice")
	}
	v.Data = d
	s.render(w, r, 0, "admin-segment", v)
}

// deleteSegment deletes a segment after the confirm step.
func (s *Web) deleteSegment(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if err := s.seg.Delete(r.Context(), v.principal(), id); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.log.InfoContext(r.Context(), "segment deleted", "segment", id, "by", v.Member.ID, "request_id", v.RequestID)
	s.redirect(w, r, "/admin/segments?notice=deleted")
}

// segmentCSV downloads every member of a segment as CSV, with a byte order mark so that
// spreadsheet software reads the Japanese in it as UTF-8. The export is audited.
func (s *Web) segmentCSV(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	err := s.seg.ExportCSV(r.Context(), v.principal(), id, func() io.Writer {
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="segment-`+id+`.csv"`)
		io.WriteString(w, "\ufeff")
		return w
	})
	if err != nil {
		if w.Header().Get("Content-Disposition") != "" {
			// Rows were already sent: the download ends short, and the log says why.
			s.log.ErrorContext(r.Context(), "segment export failed", "segment", id, "err", err, "request_id", v.RequestID)
			return
		}
		s.fail(w, r, v, err)
	}
}

// descNode is a definition in words, for the segment page.
type descNode struct {
	Text     string // a condition's sentence, or the group's heading
	Code     string // a node kept as JSON
	Not      bool
	Group    bool
	Children []*descNode
}

// describeTree words the rows under r.
func describeTree(v *view, b *builder, r *condRow, names map[string]string) *descNode {
	d := &descNode{Not: r.Not, Group: r.group()}
	switch {
	case d.Group:
		d.Text = v.T("segments.say." + r.Kind)
		for _, c := range b.children(r.N) {
			d.Children = append(d.Children, describeTree(v, b, c, names))
		}
		if r.N == 0 && len(d.Children) == 1 && !r.Not {
			return d.Children[0]
		}
	case r.Kind == rowJSON:
		d.Code = r.JSON
	default:
		d.Text = describeCondition(v, r, names)
	}
	return d
}

// describeCondition is the sentence of a condition row, e.g. "plan が enterprise に等しい".
func describeCondition(v *view, r *condRow, names map[string]string) string {
	x := r.Values
	switch r.Kind {
	case "trait":
		return x["trait"] + " " + sayValue(v, x["op"], x["value"])
	case "computed":
		return v.catOr("segments.computed."+x["computed"], x["computed"]) + " " + sayValue(v, x["op"], x["value"])
	case "event":
		s := v.T("segments.say.event", x["event"], sayValue(v, x["count.op"], x["count.value"]))
		if w := x["within_last"]; w != "" {
			s += v.T("segments.say.window", durationText(v, w))
		}
		for _, f := range r.Filters {
			s += v.T("segments.say.where", f.Property+" "+sayValue(v, f.Op, f.Value))
		}
		return s
	case "contract":
		product := x["contract.product"]
		if product == "" {
			product = v.T("segments.any_product")
		}
		s := v.T("segments.say.contract", product, v.catOr("segments.contract_status."+x["contract.status"], x["contract.status"]))
		if d := x["contract.renews_within"]; d != "" {
			s += v.T("segments.say.renews", durationText(v, d))
		}
		return s
	case "open_tickets":
		return v.T("segments.say.open_tickets", sayValue(v, x["open_tickets.op"], x["open_tickets.value"]))
	case "consent":
		return v.T("segments.say.consent", v.catOr("consent.channel."+x["consent.channel"], x["consent.channel"]),
			purposeText(v, x["consent.purpose"]), v.catOr("consent.status."+x["consent.status"], x["consent.status"]))
	case "space_member":
		return v.T("segments.say.space_member", x["space_member"])
	case "attended":
		event := x["attended.event"]
		if event == "" {
			event = v.T("segments.any_event")
		}
		s := v.T("segments.say.attended", event)
		if w := x["attended.within_last"]; w != "" {
			s += v.T("segments.say.window", durationText(v, w))
		}
		return s
	case "accepted_answers":
		return v.T("segments.say.accepted_answers", sayValue(v, x["accepted_answers.op"], x["accepted_answers.value"]))
	case "unanswered_questions":
		s := v.T("segments.say.unanswered_questions", sayValue(v, x["unanswered_questions.op"], x["unanswered_questions.value"]))
		if d := x["unanswered_questions.older_than"]; d != "" {
			s += v.T("segments.say.older_than", durationText(v, d))
		}
		return s
	case "segment":
		name := names[x["segment"]]
		if name == "" {
			name = x["segment"]
		}
		return v.T("segments.say.segment", name)
	case "score":
		name := names[x["score"]]
		if name == "" {
			name = x["score"]
		}
		return v.T("segments.say.score", name, sayValue(v, x["op"], x["value"]))
	}
	// A kind the table knows but this switch does not word yet: its fields as they are.
	k, _ := kindOf(r.Kind)
	parts := []string{v.T("segments.kind." + r.Kind)}
	for _, f := range k.Fields {
		if x[f.Key] != "" {
			parts = append(parts, x[f.Key])
		}
	}
	return strings.Join(parts, " ")
}

// sayValue words a comparison: "が enterprise に等しい", "is at least 3".
func sayValue(v *view, op, value string) string {
	if op == "within_last" || op == "more_than_ago" {
		value = durationText(v, value)
	}
	return v.T("segments.say.op."+op, value)
}

var durationRE = regexp.MustCompile(`^P(?:([0-9]+)([YMWD]))$|^PT([0-9]+)([HMS])$`)

// durationText words a one-unit ISO 8601 duration ("P30D" → "30 日"), or gives it as it is.
// Duration words an ISO 8601 duration for templates: "P30D" → "30 日" / "30 days".
func (v *view) Duration(d string) string { return durationText(v, d) }

func durationText(v *view, d string) string {
	m := durationRE.FindStringSubmatch(d)
	if m == nil {
		return d
	}
	unit, num := m[2], m[1]
	if num == "" {
		unit, num = "T"+m[4], m[3]
	}
	n, _ := strconv.Atoi(num)
	if n == 1 {
		unit += ".one"
	}
	return v.T("segments.unit."+unit, n)
}

// purposeText words a consent purpose, a third party by its destination.
func purposeText(v *view, p string) string {
	if dest, ok := strings.CutPrefix(p, "third_party:"); ok {
		return v.T("consent.purpose.third_party", strings.ToUpper(dest))
	}
	return v.catOr("consent.purpose."+p, p)
}

// customerSegments lists the segments a customer is in, for the 360; none without segments.
func (s *Web) customerSegments(ctx context.Context, p accounts.Principal, root string) ([]segment.Membership, error) {
	if s.seg == nil {
		return nil, nil
	}
	return s.seg.ForProfile(ctx, p, root)
}

// Number formats a count with thousands separators: 12,345.
func (v *view) Number(n int64) string {
	if n < 0 {
		return "-" + groupThousands(strconv.FormatInt(-n, 10))
	}
	return groupThousands(strconv.FormatInt(n, 10))
}
