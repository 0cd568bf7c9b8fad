package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/privacy"
)

// adminPrivacyRoutes are the staff's data-subject requests: the list with deadlines, the
// privacy settings, and export and erasure on a customer's behalf from their 360 page.
func (s *Web) adminPrivacyRoutes(handle func(string, pageHandler)) {
	handle("GET /admin/privacy", s.staff(accounts.PermViewMembers, s.adminPrivacy))
	handle("POST /admin/privacy/settings", s.staff(accounts.PermManageSettings, s.savePrivacySettings))
	handle("POST /admin/privacy/requests/{id}/run", s.staff(accounts.PermManageMembers, s.runRequest))
	handle("POST /admin/privacy/requests/{id}/decline", s.staff(accounts.PermManageMembers, s.declineRequest))
	if s.prf != nil {
		handle("POST /admin/customers/{id}/export", s.staff(accounts.PermManageMembers, s.exportCustomer))
		handle("POST /admin/customers/{id}/erasure", s.staff(accounts.PermManageMembers, s.eraseCustomer))
	}
}

// adminPrivacyData is the requests page.
type adminPrivacyData struct {
	Tab         string
	Tabs        []tab
	Requests    []privacy.Request
	More        string // the next page's URL, or ""
	Overdue     int    // pending requests past their due date (up to 100)
	Settings    privacy.Settings
	CanSettings bool
	CanAct      bool
	Regimes     []privacy.Regime
}

func (s *Web) adminPrivacy(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Section = v.T("admin.nav.privacy"), "privacy"
	q := r.URL.Query()
	p := v.principal()
	d := adminPrivacyData{Tab: q.Get("tab"), CanSettings: accounts.Allowed(p, accounts.PermManageSettings),
		CanAct: accounts.Allowed(p, accounts.PermManageMembers), Regimes: privacy.Regimes}
	f := privacy.Filter{}
	switch d.Tab {
	case "overdue":
		f.Overdue = true
	case "all":
	default:
		d.Tab, f.Pending = "pending", true
	}
	for _, t := range []string{"pending", "overdue", "all"} {
		d.Tabs = append(d.Tabs, tab{Label: v.T("privacy_admin.tab." + t), URL: "/admin/privacy?tab=" + t, Current: t == d.Tab})
	}
	list, next, err := s.priv.Requests(r.Context(), p, f, q.Get("cursor"), 50)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Requests = list
	if next != "" {
		d.More = withQuery("/admin/privacy", url.Values{"tab": {d.Tab}, "cursor": {next}})
	}
	overdue, _, err := s.priv.Requests(r.Context(), p, privacy.Filter{Overdue: true}, "", 100)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Overdue = len(overdue)
	if d.Settings, err = s.priv.Settings(r.Context()); err != nil {
		s.fail(w, r, v, err)
		return
	}
	switch q.Get("notice") {
	case "settings":
		v.Notice = v.T("privacy_admin.settings_saved")
	case "erasure":
		v.Notice = v.T("privacy_admin.erasure_started")
	case "held":
		v.Notice = v.T("privacy_admin.erasure_held")
	case "declined":
		v.Notice = v.T("privacy_admin.declined")
	}
	v.Data = d
	s.render(w, r, 0, "admin-privacy", v)
}

func (s *Web) savePrivacySettings(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	_, err := s.priv.SetSettings(r.Context(), v.principal(), privacy.Settings{
		ErasedContent: privacy.ErasedContent(r.PostForm.Get("erased_content")),
		DefaultRegime: privacy.Regime(r.PostForm.Get("default_regime")),
	})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/privacy?notice=settings")
}

func (s *Web) runRequest(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := s.priv.Run(r.Context(), v.principal(), r.PathValue("id")); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/privacy?notice=erasure")
}

func (s *Web) declineRequest(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	if _, err := s.priv.Decline(r.Context(), v.principal(), r.PathValue("id"), r.PostForm.Get("reason")); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/admin/privacy?notice=declined")
}

// requestInput reads the request form of the customer 360: regime, the day the person asked
// (in the reader's time zone), a note, and for an erasure whether to hold it.
func requestInput(r *http.Request, v *view) (privacy.RequestInput, error) {
	r.ParseForm()
	in := privacy.RequestInput{Regime: privacy.Regime(r.PostForm.Get("regime")), Note: r.PostForm.Get("note"), Hold: r.PostForm.Get("hold") == "1"}
	if day := r.PostForm.Get("received_on"); day != "" {
		t, err := time.ParseInLocation(time.DateOnly, day, v.loc)
		if err != nil {
			return in, errInvalidDay
		}
		// The day the person asked: its start, unless that is today (then now).
		if now := time.Now().In(v.loc); t.Format(time.DateOnly) != now.Format(time.DateOnly) {
			in.ReceivedAt = t
		}
	}
	return in, nil
}

func (s *Web) exportCustomer(w http.ResponseWriter, r *http.Request, v *view) {
	in, err := requestInput(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	req, zipped, err := s.priv.Export(r.Context(), v.principal(), privacy.Ref{ProfileID: r.PathValue("id")}, in)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	sendZip(w, req, zipped)
}

func (s *Web) eraseCustomer(w http.ResponseWriter, r *http.Request, v *view) {
	in, err := requestInput(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" && !in.Hold {
		s.fail(w, r, v, errConfirmErasure)
		return
	}
	if _, err := s.priv.RequestErasure(r.Context(), v.principal(), privacy.Ref{ProfileID: r.PathValue("id")}, in); err != nil {
		s.fail(w, r, v, err)
		return
	}
	notice := "erasure"
	if in.Hold {
		notice = "held"
	}
	s.redirect(w, r, "/admin/privacy?notice="+notice)
}

// customerPrivacy is the 360's data-subject requests section: the requests about the profile
// and the forms that make new ones.
type customerPrivacy struct {
	Requests []privacy.Request
	Regimes  []privacy.Regime
	Default  privacy.Regime
	Content  privacy.ErasedContent
	CanAct   bool
}

func (s *Web) customerPrivacy(r *http.Request, v *view, root string) (*customerPrivacy, error) {
	p := v.principal()
	list, _, err := s.priv.Requests(r.Context(), p, privacy.Filter{ProfileID: root}, "", 20)
	if err != nil {
		return nil, err
	}
	set, err := s.priv.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	return &customerPrivacy{Requests: list, Regimes: privacy.Regimes, Default: set.DefaultRegime, Content: set.ErasedContent,
		CanAct: accounts.Allowed(p, accounts.PermManageMembers)}, nil
}

// The web shell's own mistakes in the request forms.
var (
	errInvalidDay     = errs.Because(errs.Invalid("received_on", "give the day the person asked as YYYY-MM-DD"), "received_on_invalid")
	errConfirmErasure = errs.Because(errs.Invalid("confirm", "tick the box to confirm the erasure"), "erasure_unconfirmed")
)

// DueIn words how long a pending request has left, or how late it is.
func (v *view) DueIn(r privacy.Request) string {
	if !r.Pending() {
		return ""
	}
	days := int(time.Until(r.DueAt).Hours() / 24)
	switch {
	case r.Overdue:
		return v.T("privacy_admin.overdue_by", max(1, -days))
	case days == 0:
		return v.T("privacy_admin.due_today")
	}
	return v.T("privacy_admin.due_in", days)
}

// Today is today's date in the reader's time zone, for date inputs.
func (v *view) Today() string { return time.Now().In(v.loc).Format(time.DateOnly) }
