package web

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// Page sizes of the admin lists.
const (
	membersPerPage = 50
	auditPerPage   = 50
	recentAudit    = 5
)

// overviewData is the admin overview: real figures for the sections the visitor may use.
type overviewData struct {
	ShowMembers bool
	Members     int
	ShowKeys    bool
	ActiveKeys  int
	ShowAudit   bool
	RecentAudit []auditRow
}

func (s *Web) adminOverview(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.overview"), "overview"
	p := v.principal()
	var d overviewData
	if accounts.Allowed(p, accounts.PermViewMembers) {
		d.ShowMembers = true
		var err error
		if d.Members, err = s.acc.CountMembers(r.Context(), p); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	if accounts.Allowed(p, accounts.PermManageAPIKeys) {
		d.ShowKeys = true
		keys, err := s.acc.ListAPIKeys(r.Context(), p)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for _, k := range keys {
			if k.RevokedAt == nil {
				d.ActiveKeys++
			}
		}
	}
	if accounts.Allowed(p, accounts.PermViewAudit) {
		d.ShowAudit = true
		entries, _, err := s.acc.ListAudit(r.Context(), p, "", recentAudit)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		if d.RecentAudit, err = s.auditRows(r, v, entries); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	v.Data = d
	s.render(w, r, 0, "admin-overview", v)
}

// membersData is one page of the member list.
type membersData struct {
	Members []memberRow
	Next    string // cursor of the next page, or ""
	First   bool   // this is the first page
}

// memberRow is one member in the list, with the outcome of a role or status change when there was one.
type memberRow struct {
	V *view
	accounts.Member
	CanManage   bool
	CanModerate bool // may suspend and reinstate
	Saved       bool
	Error       string
	StatusSaved bool
	StatusError string
	Self        bool
}

// memberRow is m as the member list shows it to v.
func (s *Web) memberRow(v *view, m accounts.Member) memberRow {
	return memberRow{V: v, Member: m, CanManage: accounts.Allowed(v.principal(), accounts.PermManageMembers),
		CanModerate: accounts.Allowed(v.principal(), accounts.PermModerate), Self: m.ID == v.Member.ID}
}

func (s *Web) adminMembers(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.members"), "members"
	after := ""
	if c := r.URL.Query().Get("after"); c != "" {
		var err error
		if after, err = httpx.DecodeCursor(c); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	members, next, err := s.acc.ListMembers(r.Context(), v.principal(), after, membersPerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := membersData{First: after == ""}
	if next != "" {
		d.Next = httpx.EncodeCursor(next)
	}
	for _, m := range members {
		d.Members = append(d.Members, s.memberRow(v, m))
	}
	v.Data = d
	s.render(w, r, 0, "admin-members", v)
}

// setRole changes a member's role and answers htmx with the updated row; without JavaScript it
// goes back to the list.
func (s *Web) setRole(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	err := s.acc.SetRole(r.Context(), v.principal(), id, accounts.Role(r.PostFormValue("role")))
	e, known := errAs(err)
	if err != nil && (!known || !isHTMX(r)) {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/admin/members")
		return
	}
	m, gerr := s.acc.GetMember(r.Context(), id)
	if gerr != nil {
		s.fail(w, r, v, gerr)
		return
	}
	row := s.memberRow(v, m)
	row.Saved = err == nil
	status := http.StatusOK
	if err != nil {
		row.Error, status = s.message(v, e), http.StatusUnprocessableEntity
	}
	s.fragment(w, r, status, "admin-members", "member-row", row)
}

// apiKeysData is the API key page: the keys and, right after creating one, its secret.
type apiKeysData struct {
	Keys    []keyRow
	Created *createdKey
}

// keyRow is one API key as the key-row template sees it.
type keyRow struct {
	V *view
	accounts.APIKey
}

// keyRows lists the keys for the table.
func (s *Web) keyRows(r *http.Request, v *view) ([]keyRow, error) {
	keys, err := s.acc.ListAPIKeys(r.Context(), v.principal())
	if err != nil {
		return nil, err
	}
	out := make([]keyRow, len(keys))
	for i, k := range keys {
		out[i] = keyRow{V: v, APIKey: k}
	}
	return out, nil
}

// createdKey is a key just made; Raw is shown this once and never again.
type createdKey struct {
	Raw  string
	Name string
}

func (s *Web) adminAPIKeys(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.api_keys"), "api_keys"
	keys, err := s.keyRows(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = apiKeysData{Keys: keys}
	s.render(w, r, 0, "admin-api-keys", v)
}

// createAPIKey makes a key and shows its secret once: htmx gets the secret panel and the
// refreshed table; a plain form post gets the whole page.
func (s *Web) createAPIKey(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.api_keys"), "api_keys"
	r.ParseForm()
	v.Form = newForm(r)
	var scopes []accounts.Scope
	for _, sc := range r.PostForm["scopes"] {
		scopes = append(scopes, accounts.Scope(sc))
	}
	raw, k, err := s.acc.CreateAPIKey(r.Context(), v.principal(), r.PostForm.Get("name"), scopes)
	if err != nil {
		e, ok := errAs(err)
		if !ok {
			s.fail(w, r, v, err)
			return
		}
		msg := s.message(v, e)
		if e.Field != "" {
			v.Form.errors[e.Field] = msg
		} else {
			v.Form.alert = msg
		}
		if isHTMX(r) {
			s.fragment(w, r, http.StatusUnprocessableEntity, "admin-api-keys", "key-form", v)
			return
		}
		keys, lerr := s.keyRows(r, v)
		if lerr != nil {
			s.fail(w, r, v, lerr)
			return
		}
		v.Data = apiKeysData{Keys: keys}
		s.render(w, r, http.StatusUnprocessableEntity, "admin-api-keys", v)
		return
	}
	keys, err := s.keyRows(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = apiKeysData{Keys: keys, Created: &createdKey{Raw: raw, Name: k.Name}}
	v.Form = newForm(nil) // a fresh form for the next key
	if isHTMX(r) {
		s.fragment(w, r, http.StatusOK, "admin-api-keys", "key-created", v)
		return
	}
	s.render(w, r, http.StatusOK, "admin-api-keys", v)
}

// revokeAPIKey stops a key; htmx gets the updated row.
func (s *Web) revokeAPIKey(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if err := s.acc.RevokeAPIKey(r.Context(), v.principal(), id); err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !isHTMX(r) {
		s.redirect(w, r, "/admin/api-keys")
		return
	}
	keys, err := s.keyRows(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	for _, k := range keys {
		if k.ID == id {
			s.fragment(w, r, http.StatusOK, "admin-api-keys", "key-row", k)
			return
		}
	}
	s.fail(w, r, v, fmt.Errorf("revoked API key %s is missing from the list", id))
}

// auditData is one page of the audit log.
type auditData struct {
	Rows  []auditRow
	Older string // cursor of the next, older page, or ""
	First bool
}

// auditRow is an audit entry as shown: actor and target named, the details in a stable order.
type auditRow struct {
	accounts.AuditEntry
	Actor      string
	TargetName string // the member's or API key's name, when the target is one
	Details    []detail
}

// detail is one key=value of an audit entry.
type detail struct{ Key, Value string }

func (s *Web) adminAudit(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.audit"), "audit"
	before := ""
	if c := r.URL.Query().Get("before"); c != "" {
		var err error
		if before, err = httpx.DecodeCursor(c); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	entries, next, err := s.acc.ListAudit(r.Context(), v.principal(), before, auditPerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d := auditData{First: before == ""}
	if next != "" {
		d.Older = httpx.EncodeCursor(next)
	}
	if d.Rows, err = s.auditRows(r, v, entries); err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = d
	s.render(w, r, 0, "admin-audit", v)
}

// auditRows names each entry's actor and target: members by display name (looked up once
// each), API keys by name.
func (s *Web) auditRows(r *http.Request, v *view, entries []accounts.AuditEntry) ([]auditRow, error) {
	keyNames := map[string]string{}
	if accounts.Allowed(v.principal(), accounts.PermManageAPIKeys) {
		keys, err := s.acc.ListAPIKeys(r.Context(), v.principal())
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			keyNames[k.ID] = k.Name
		}
	}
	memberNames := map[string]string{} // "" for an id that is no member
	memberName := func(id string) (string, error) {
		if name, ok := memberNames[id]; ok {
			return name, nil
		}
		m, err := s.acc.GetMember(r.Context(), id)
		if _, known := errAs(err); err != nil && !known {
			return "", err
		}
		if m.Status == accounts.StatusErased {
			m.DisplayName = v.T("messages.former_member")
		}
		memberNames[id] = m.DisplayName
		return m.DisplayName, nil
	}
	out := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		row := auditRow{AuditEntry: e}
		switch e.ActorKind {
		case "member":
			name, err := memberName(e.ActorID)
			if err != nil {
				return nil, err
			}
			row.Actor = name
			if name == "" {
				row.Actor = e.ActorID // the member is gone; the id is all there is
			}
		case "api_key":
			row.Actor = v.T("audit.actor.api_key", e.ActorID)
			if name, ok := keyNames[e.ActorID]; ok {
				row.Actor = v.T("audit.actor.api_key", name)
			}
		default:
			row.Actor = v.T("audit.actor.system")
		}
		if name, ok := keyNames[e.Target]; ok {
			row.TargetName = name
		} else if e.Target != "" {
			name, err := memberName(e.Target)
			if err != nil {
				return nil, err
			}
			row.TargetName = name
		}
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row.Details = append(row.Details, detail{Key: k, Value: strings.TrimSpace(fmt.Sprint(e.Details[k]))})
		}
		out = append(out, row)
	}
	return out, nil
}
