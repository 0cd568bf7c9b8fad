package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/segment"
)

// timelinePerPage is how many events the 360 page's timeline shows at a time.
const timelinePerPage = 25

// renewalSoon is how close a contract's renewal date is highlighted.
const renewalSoon = 30 * 24 * time.Hour

// customerRoutes are the staff's customer 360: a search by any identifier and one page per
// customer profile with its identities, merges, traits, timeline and CRM records.
func (s *Web) customerRoutes(handle func(string, pageHandler)) {
	handle("GET /admin/customers", s.staff(accounts.PermViewMembers, s.adminCustomers))
	handle("GET /admin/customers/{id}", s.staff(accounts.PermViewMembers, s.adminCustomer))
	handle("POST /admin/customers/{id}/merges/{merge}/undo", s.staff(accounts.PermManageMembers, s.undoMerge))
}

// customersData is the search page: what was typed and the profiles that hold it.
type customersData struct {
	Query   string
	Results []profile.Summary
	Error   string // a translated message about the query
}

func (s *Web) adminCustomers(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.customers"), "customers"
	d := customersData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Query != "" {
		var err error
		d.Results, err = s.prf.Find(r.Context(), v.principal(), d.Query)
		if e, ok := errAs(err); ok && e.Kind == errs.KindInvalid {
			d.Error, err = v.T("customers.query_invalid"), nil
		}
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	v.Data = d
	s.render(w, r, 0, "admin-customers", v)
}

// customerData is the 360 page of one profile.
type customerData struct {
	V          *view
	ID         string // the profile's id (its root)
	Profile    profile.Profile
	Name       string // trait name, else email, else ""
	Email      string
	Merges     []mergeRow
	Traits     []traitRow
	Events     []timelineRow
	Older      string // cursor of the next page of the timeline, or ""
	Paged      bool   // the timeline starts further back than the newest event
	Records    crm.Records
	Contracts  []contractRow
	Consent    *consentData     // nil when the web shell has no consent ledger
	Privacy    *customerPrivacy // nil when the web shell has no privacy part
	Segments   []segment.Membership
	HasSegs    bool        // the web shell has segments
	Scores     []scoreCard // under every score model; nil without the score part or models
	CanUnmerge bool
	Now        time.Time
}

// consentHistoryRows is how many consent records the 360 lists; the API pages through the rest.
const consentHistoryRows = 20

// consentData is the 360's consent sections: the matrix of decisions, the newest records with
// their evidence, and the records of third-party provision.
type consentData struct {
	Matrix     consent.Matrix
	History    []consent.Record
	More       bool // older records exist than History shows
	Provisions []consent.Provision
}

// mergeRow is one merge in the "why they were linked" list.
type mergeRow struct {
	identity.Merge
	Other string // the profile on the other side of the merge
}

// traitRow is one current trait with its earlier values, newest first.
type traitRow struct {
	Name    string
	Value   string
	Source  string
	At      time.Time
	History []profile.TraitChange
}

// timelineRow is one event as the timeline shows it.
type timelineRow struct {
	profile.Event
	Label  string     // what happened, in the reader's language
	Detail string     // the page's title or a short description
	URL    string     // the page's address, for page views
	Props  []propPair // a few properties of a track event
}

// propPair is one property of an event, shown as a chip.
type propPair struct{ K, V string }

// contractRow is a contract with how soon it renews.
type contractRow struct {
	crm.Contract
	DaysToRenewal int  // whole days from today; meaningful when RenewsOn is set
	RenewsSoon    bool // active and renewing within renewalSoon
}

func (s *Web) adminCustomer(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.customers"), "customers"
	id := r.PathValue("id")
	p := v.principal()
	ctx := r.Context()
	root, err := s.idg.Root(ctx, id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if root != id {
		// A merged profile's data shows on the profile it was merged into.
		http.Redirect(w, r, "/admin/customers/"+url.PathEscape(root), http.StatusSeeOther)
		return
	}
	before := r.URL.Query().Get("before")
	evs, older, err := s.prf.Events(ctx, p, root, before, timelinePerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := customerData{V: v, ID: root, Events: s.timelineRows(v, evs), Older: older, Paged: before != ""}
	if isHTMX(r) && before != "" {
		s.fragment(w, r, http.StatusOK, "admin-customer", "timeline-page", d)
		return
	}
	if d.Profile, err = s.prf.Get(ctx, p, root); err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Name, _ = d.Profile.Traits["name"].(string)
	d.Email, _ = d.Profile.Traits["email"].(string)
	if d.Email == "" {
		for _, it := range d.Profile.Identifiers {
			if it.Type == "email" {
				d.Email = it.Value
				break
			}
		}
	}
	if d.Merges, err = s.mergeRows(r, root, d.Profile.MergedIDs); err != nil {
		s.fail(w, r, v, err)
		return
	}
	history, err := s.prf.TraitHistory(ctx, p, root, "")
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Traits = traitRows(d.Profile, history)
	if d.Records, err = s.crm.ForProfile(ctx, p, root); err != nil {
		s.fail(w, r, v, err)
		return
	}
	if s.cns != nil {
		if d.Consent, err = s.consentData(r, p, root); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	if s.scores != nil {
		if d.Scores, err = s.scoreCards(r, p, root); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	if s.priv != nil {
		if d.Privacy, err = s.customerPrivacy(r, v, root); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	if d.Segments, err = s.customerSegments(ctx, p, root); err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.HasSegs = s.seg != nil
	d.Now = time.Now()
	d.Contracts = contractRows(d.Records.Contracts, d.Now.In(v.loc))
	d.CanUnmerge = accounts.Allowed(p, accounts.PermManageMembers)
	if r.URL.Query().Get("notice") == "unmerged" {
		v.Notice = v.T("customer.unmerged_notice")
	}
	if d.Name != "" {
		v.Title = d.Name
	}
	v.Data = d
	s.render(w, r, 0, "admin-customer", v)
}

// consentData reads the 360's consent sections of root.
func (s *Web) consentData(r *http.Request, p accounts.Principal, root string) (*consentData, error) {
	ctx := r.Context()
	var c consentData
	var err error
	if c.Matrix, err = s.cns.Matrix(ctx, p, root); err != nil {
		return nil, err
	}
	var next string
	if c.History, next, err = s.cns.History(ctx, p, root, "", consentHistoryRows); err != nil {
		return nil, err
	}
	c.More = next != ""
	if c.Provisions, err = s.cns.Provisions(ctx, p, root); err != nil {
		return nil, err
	}
	return &c, nil
}

// mergeRows lists the merges of root and of every profile merged into it, oldest first, once each.
func (s *Web) mergeRows(r *http.Request, root string, merged []string) ([]mergeRow, error) {
	var out []mergeRow
	seen := map[string]bool{}
	for _, pid := range append([]string{root}, merged...) {
		ms, err := s.idg.Merges(r.Context(), pid)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			row := mergeRow{Merge: m, Other: m.LoserID}
			if m.LoserID == pid {
				row.Other = m.WinnerID
			}
			out = append(out, row)
		}
	}
	slices.SortStableFunc(out, func(a, b mergeRow) int { return a.At.Compare(b.At) })
	return out, nil
}

// traitRows pairs each current trait with its history, by name.
func traitRows(pr profile.Profile, history []profile.TraitChange) []traitRow {
	out := make([]traitRow, 0, len(pr.Traits))
	for name, val := range pr.Traits {
		row := traitRow{Name: name, Value: traitValue(val), Source: pr.TraitMeta[name].Source, At: pr.TraitMeta[name].UpdatedAt}
		for _, c := range history {
			if c.Name == name {
				row.History = append(row.History, c)
			}
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b traitRow) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// traitValue is a trait's value as text: strings as they are, anything else as JSON.
func traitValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// contractRows works out how soon each contract renews, counted in the reader's days.
func contractRows(cs []crm.Contract, today time.Time) []contractRow {
	y, m, d := today.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	out := make([]contractRow, len(cs))
	for i, c := range cs {
		out[i] = contractRow{Contract: c}
		if c.RenewsOn.IsZero() {
			continue
		}
		ry, rm, rd := c.RenewsOn.Date()
		left := time.Date(ry, rm, rd, 0, 0, 0, 0, time.UTC).Sub(day)
		out[i].DaysToRenewal = int(left / (24 * time.Hour))
		out[i].RenewsSoon = c.Status == "active" && left >= 0 && left <= renewalSoon
	}
	return out
}

// timelineRows words each event for the timeline.
func (s *Web) timelineRows(v *view, evs []profile.Event) []timelineRow {
	out := make([]timelineRow, len(evs))
	for i, e := range evs {
		row := timelineRow{Event: e}
		var props map[string]any
		_ = json.Unmarshal(e.Properties, &props) // stored by the profile consumer as an object
		switch e.Type {
		case event.Page, event.Screen:
			row.Label = v.T("customer.ev.page")
			if e.Type == event.Screen {
				row.Label = v.T("customer.ev.screen")
			}
			title, _ := props["title"].(string)
			row.Detail = cmp.Or(e.Name, title)
			row.URL, _ = props["url"].(string)
			if row.URL == "" {
				row.URL, _ = props["path"].(string)
			}
			if row.Detail == "" {
				row.Detail, row.URL = row.URL, ""
			}
		case event.Identify:
			row.Label = v.T("customer.ev.identify")
			row.Props = propPairs(props, 4)
		case event.Group:
			row.Label = v.T("customer.ev.group")
			row.Props = propPairs(props, 3)
		case event.Alias:
			row.Label = v.T("customer.ev.alias")
		default:
			row.Label = v.EventName(e.Name)
			row.Props = propPairs(props, 3)
		}
		out[i] = row
	}
	return out
}

// propPairs returns up to n scalar properties, by name, for the timeline's chips.
func propPairs(props map[string]any, n int) []propPair {
	keys := make([]string, 0, len(props))
	for k, x := range props {
		switch x.(type) {
		case string, float64, bool:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []propPair
	for _, k := range keys {
		val := traitValue(props[k])
		if val == "" {
			continue
		}
		if r := []rune(val); len(r) > 60 {
			val = string(r[:59]) + "…"
		}
		out = append(out, propPair{K: k, V: val})
		if len(out) == n {
			break
		}
	}
	return out
}

// undoMerge undoes one of the profile's merges after the confirm step and returns to the profile.
func (s *Web) undoMerge(w http.ResponseWriter, r *http.Request, v *view) {
	id, mergeID := r.PathValue("id"), r.PathValue("merge")
	root, err := s.idg.Root(r.Context(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	family, err := s.idg.Family(r.Context(), root)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	rows, err := s.mergeRows(r, root, family[1:])
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	// Only a merge shown on this profile's page may be undone from it.
	if !slices.ContainsFunc(rows, func(m mergeRow) bool { return m.ID == mergeID }) {
		s.fail(w, r, v, errs.NotFound("no merge %s on profile %s", mergeID, root))
		return
	}
	if err := s.idg.Unmerge(r.Context(), mergeID); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.log.InfoContext(r.Context(), "customer merge undone", "merge", mergeID, "profile", root, "by", v.Member.ID, "request_id", v.RequestID)
	s.redirect(w, r, "/admin/customers/"+url.PathEscape(root)+"?notice=unmerged#merges")
}

// TraitText is a trait value as text; see traitValue.
func (v *view) TraitText(x any) string { return traitValue(x) }

// CustomerName is how the profile is called in lists: its name, else its email, else a stand-in.
func (v *view) CustomerName(name, email string) string {
	return cmp.Or(name, email, v.T("customer.anonymous"))
}

// IdentifierType is the reader's name of an identifier type such as "email" or "crm:salesforce".
func (v *view) IdentifierType(t string) string {
	base, sys, _ := strings.Cut(t, ":")
	if s, ok := v.cat["customer.idtype."+base]; ok {
		if sys != "" {
			return s + " (" + sys + ")"
		}
		return s
	}
	return t
}

// MergeRule words a merge's rule, e.g. "shared email", in the reader's language.
func (v *view) MergeRule(rule string) string {
	if t, ok := strings.CutPrefix(rule, "shared "); ok && t != "identifier" {
		return v.T("customer.rule.shared", v.IdentifierType(t))
	}
	return v.T("customer.rule.shared_any")
}

// SourceName words where a trait or event came from: "community", "tracking:<source id>" …
func (v *view) SourceName(src string) string {
	base, _, _ := strings.Cut(src, ":")
	if s, ok := v.cat["customer.source."+base]; ok {
		return s
	}
	return src
}

// EventName is a track event's name in the reader's language when the catalogue knows it
// ("Post Created" → 投稿を作成), else the name itself.
func (v *view) EventName(name string) string {
	if s, ok := v.cat["customer.event."+name]; ok {
		return s
	}
	return name
}

// Money formats an amount in minor units of cur: ¥12,000, $1,200.00, €9.50, or "KRW 5,000".
func (v *view) Money(minor int64, cur string) string {
	decimals := 2
	switch cur {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		decimals = 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		decimals = 3
	}
	neg := minor < 0
	if neg {
		minor = -minor
	}
	unit := int64(1)
	for range decimals {
		unit *= 10
	}
	out := groupThousands(strconv.FormatInt(minor/unit, 10))
	if decimals > 0 {
		out += "." + fmt.Sprintf("%0*d", decimals, minor%unit)
	}
	switch cur {
	case "JPY":
		out = "¥" + out
	case "USD":
		out = "$" + out
	case "EUR":
		out = "€" + out
	case "GBP":
		out = "£" + out
	default:
		out = cur + " " + out
	}
	if neg {
		out = "-" + out
	}
	return out
}

// groupThousands puts commas between groups of three digits.
func groupThousands(digits string) string {
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// LifetimeValue lists a profile's lifetime value per currency, formatted, by currency code.
func (v *view) LifetimeValue(ltv map[string]int64) []string {
	curs := make([]string, 0, len(ltv))
	for c := range ltv {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	out := make([]string, len(curs))
	for i, c := range curs {
		out[i] = v.Money(ltv[c], c)
	}
	return out
}

// Day formats a calendar date (a contract's start or renewal) without a time or zone.
func (v *view) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if v.Lang == "ja" {
		return t.Format("2006年1月2日")
	}
	return t.Format("Jan 2, 2006")
}

// TicketStatus and ContractStatus word CRM statuses.
func (v *view) TicketStatus(s string) string { return v.catOr("customer.ticket_status."+s, s) }

// ContractStatus words a contract's status.
func (v *view) ContractStatus(s string) string { return v.catOr("customer.contract_status."+s, s) }

// Priority words a ticket's priority.
func (v *view) Priority(s string) string { return v.catOr("customer.priority."+s, s) }

func (v *view) catOr(key, fallback string) string {
	if s, ok := v.cat[key]; ok {
		return s
	}
	return fallback
}

// ChannelName words a consent channel.
func (v *view) ChannelName(ch consent.Channel) string {
	return v.catOr("consent.channel."+string(ch), string(ch))
}

// PurposeName words a consent purpose; a third party is named by its destination.
func (v *view) PurposeName(pu consent.Purpose) string {
	if d := pu.Destination(); d != "" {
		return v.T("consent.purpose.third_party", strings.ToUpper(d))
	}
	return v.catOr("consent.purpose."+string(pu), string(pu))
}

// ConsentStatusName words a consent status.
func (v *view) ConsentStatusName(st consent.Status) string {
	return v.catOr("consent.status."+string(st), string(st))
}

// ConsentSourceName words where a consent came from.
func (v *view) ConsentSourceName(src consent.Source) string {
	return v.catOr("consent.source."+string(src), string(src))
}

// SuppressionName words why an address is suppressed.
func (v *view) SuppressionName(r consent.SuppressionReason) string {
	return v.catOr("consent.suppression."+string(r), string(r))
}

// BasisName words the legal basis of a provision.
func (v *view) BasisName(b consent.Basis) string {
	return v.catOr("consent.basis."+string(b), string(b))
}

// ConsentState is the style of a matrix cell: in (may send: opted in), tx (may send: a service
// message needs no opt-in), out (opted out), sup (suppressed) or none (no opt-in on record).
func (v *view) ConsentState(d consent.Decision) string {
	switch d.Reason {
	case consent.ReasonOptedIn:
		return "in"
	case consent.ReasonTransactional:
		return "tx"
	case consent.ReasonOptedOut:
		return "out"
	case consent.ReasonSuppressed:
		return "sup"
	}
	return "none"
}

// ConsentLabel is what a matrix cell says.
func (v *view) ConsentLabel(d consent.Decision) string {
	switch d.Reason {
	case consent.ReasonOptedIn:
		return v.T("consent.status.opted_in")
	case consent.ReasonTransactional:
		return v.T("consent.cell.transactional")
	case consent.ReasonOptedOut:
		return v.T("consent.status.opted_out")
	case consent.ReasonSuppressed:
		return v.T("consent.cell.suppressed")
	}
	if d.Record != nil {
		return v.T("consent.status.unknown")
	}
	return v.T("consent.cell.none")
}

// ConsentEvidence sums up a record's evidence for a tooltip: source, wording, time.
func (v *view) ConsentEvidence(r *consent.Record) string {
	if r == nil {
		return ""
	}
	parts := []string{v.ConsentStatusName(r.Status), v.ConsentSourceName(r.Source), v.Date(r.RecordedAt)}
	if r.TextVersion != "" {
		parts = append(parts, v.T("consent.text_version", r.TextVersion))
	}
	return strings.Join(parts, " · ")
}

// LocalDay is the day of the instant t in the reader's time zone.
func (v *view) LocalDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return v.Day(t.In(v.loc))
}

// ActorName words who recorded something: a member id or api_key:ID as it is, the system as
// Kizuna.
func (v *view) ActorName(actor string) string {
	if actor == "system" || actor == "" {
		return v.T("customer.by_system")
	}
	return actor
}
