package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/privacy"
)

// UnlinkFunc takes a linked social account (an identifier of type social:<provider>) off the
// member p's profile. The social log-in part provides it; while it is nil the privacy centre
// lists linked accounts without an unlink button.
type UnlinkFunc func(ctx context.Context, p accounts.Principal, typ, value string) error

// consentTextVersion names the wording of the privacy centre's consent section
// (privacy.consent.* in the catalogues), recorded with every consent given or withdrawn there
// with the reader's language: "privacy-centre-2026-05:ja". Change the wording, change the
// version: the ledger must say which text each person saw (特定電子メール法 Art. 3(2)).
const consentTextVersion = "privacy-centre-2026-05"

// centrePurposes are the purposes a member answers for in the privacy centre: service messages
// need no consent, and third parties appear only when the member's records name them.
var centrePurposes = []consent.Purpose{consent.PurposeMarketing, consent.PurposeProductNews, consent.PurposeResearch}

// privacyRoutes are the member's privacy centre.
func (s *Web) privacyRoutes(handle func(string, pageHandler)) {
	handle("GET /settings/privacy", s.signedIn(s.privacyCentre))
	handle("POST /settings/privacy/consents", s.signedIn(s.saveConsents))
	handle("POST /settings/privacy/export", s.signedIn(s.exportOwnData))
	handle("POST /settings/privacy/delete", s.signedIn(s.deleteAccount))
	if s.unlink != nil {
		handle("POST /settings/privacy/unlink", s.signedIn(s.unlinkIdentity))
	}
}

// centreData is the privacy centre page.
type centreData struct {
	privacy.Centre
	Channels    []centreChannel // the channels the member can be reached on, with their choices
	ThirdParty  []centreChoice  // the third parties their records name, per channel
	TextVersion string          // what the consent form records: consentTextVersion and the language
	CanUnlink   bool
	Deleting    bool   // the delete section is open (after a mistake in its form)
	DeleteError string // a translated message about the delete form
	Notice      string // a translated confirmation, shown inside the page's column
}

// centreChannel is one row of the consent form.
type centreChannel struct {
	Channel consent.Channel
	Choices []centreChoice // one per centrePurposes
	Blocked consent.SuppressionReason
}

// centreChoice is one box of the consent form.
type centreChoice struct {
	Channel consent.Channel
	Purpose consent.Purpose
	On      bool
	Record  *consent.Record
}

// Field is the form field of the box.
func (c centreChoice) Field() string { return "c." + string(c.Channel) + "." + string(c.Purpose) }

func (s *Web) centreData(r *http.Request, v *view) (centreData, error) {
	c, err := s.priv.Centre(r.Context(), v.principal())
	if err != nil {
		return centreData{}, err
	}
	d := centreData{Centre: c, TextVersion: consentTextVersion + ":" + v.Lang, CanUnlink: s.unlink != nil}
	has := func(types ...string) bool {
		return slices.ContainsFunc(c.Identities, func(it identity.Identifier) bool {
			return slices.ContainsFunc(types, func(t string) bool { return it.Type == t || strings.HasPrefix(it.Type, t+".") })
		})
	}
	cell := func(ch consent.Channel, pu consent.Purpose) (consent.Decision, bool) {
		i := slices.Index(c.Matrix.Purposes, pu)
		for _, row := range c.Matrix.Rows {
			if row.Channel == ch && i >= 0 && i < len(row.Cells) {
				return row.Cells[i], true
			}
		}
		return consent.Decision{}, false
	}
	for _, ch := range consent.Channels {
		// Email and in-app reach every member; the others show once the member has such an
		// address, or has answered for that channel before.
		show := ch == consent.ChannelEmail || ch == consent.ChannelInApp
		switch ch {
		case consent.ChannelLINE:
			show = has("social:line")
		case consent.ChannelSMS, consent.ChannelPhone:
			show = has("phone")
		}
		row := centreChannel{Channel: ch}
		for _, pu := range centrePurposes {
			dec, _ := cell(ch, pu)
			show = show || dec.Record != nil
			row.Choices = append(row.Choices, centreChoice{Channel: ch, Purpose: pu, On: dec.Status == consent.StatusOptedIn, Record: dec.Record})
			if dec.Suppression != "" {
				row.Blocked = dec.Suppression
			}
		}
		if show {
			d.Channels = append(d.Channels, row)
		}
		for _, pu := range c.Matrix.Purposes {
			if !pu.ThirdParty() {
				continue
			}
			if dec, ok := cell(ch, pu); ok && dec.Record != nil {
				d.ThirdParty = append(d.ThirdParty, centreChoice{Channel: ch, Purpose: pu, On: dec.Status == consent.StatusOptedIn, Record: dec.Record})
			}
		}
	}
	return d, nil
}

func (s *Web) privacyCentre(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("privacy.title")
	d, err := s.centreData(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	switch r.URL.Query().Get("notice") {
	case "saved":
		d.Notice = v.T("privacy.consents_saved")
	case "unlinked":
		d.Notice = v.T("privacy.unlinked")
	case "reworded":
		d.Notice = v.T("privacy.consents_reworded")
	}
	v.Data = d
	s.render(w, r, 0, "settings-privacy", v)
}

// saveConsents records what the member left ticked: every box of the form the page showed.
func (s *Web) saveConsents(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	version := r.PostForm.Get("text_version")
	if lang, ok := strings.CutPrefix(version, consentTextVersion+":"); !ok || !slices.Contains(accounts.Locales, lang) {
		// A page from before the wording changed: show the current one and ask again.
		s.redirect(w, r, "/settings/privacy?notice=reworded#consents")
		return
	}
	var choices []privacy.ConsentChoice
	for _, field := range r.PostForm["shown"] {
		ch, pu, ok := strings.Cut(strings.TrimPrefix(field, "c."), ".")
		if !ok || !strings.HasPrefix(field, "c.") {
			continue
		}
		choices = append(choices, privacy.ConsentChoice{Channel: consent.Channel(ch), Purpose: consent.Purpose(pu), OptIn: r.PostForm.Get(field) == "on"})
	}
	if _, err := s.priv.SetConsents(r.Context(), v.principal(), version, choices,
		privacy.Client{IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/settings/privacy?notice=saved#consents")
}

// exportOwnData sends the member their data as a zip.
func (s *Web) exportOwnData(w http.ResponseWriter, r *http.Request, v *view) {
	req, zipped, err := s.priv.Export(r.Context(), v.principal(), privacy.Ref{MemberID: v.Member.ID}, privacy.RequestInput{})
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	sendZip(w, req, zipped)
}

// sendZip writes an export as a download.
func sendZip(w http.ResponseWriter, req privacy.Request, zipped []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+privacy.ExportFileName(req)+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(zipped)
}

// deleteAccount erases the member when they confirm with their email address. The answer is a
// farewell page that tells the browser to forget this site (Clear-Site-Data: the session, the
// tracker's ids and its queue of unsent events).
func (s *Web) deleteAccount(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	confirm := strings.ToLower(strings.TrimSpace(r.PostForm.Get("confirm_email")))
	if r.PostForm.Get("understand") != "yes" || confirm != strings.ToLower(v.Member.Email) {
		d, err := s.centreData(r, v)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		v.Title = v.T("privacy.title")
		d.Deleting, d.DeleteError = true, v.T("privacy.delete_confirm_wrong")
		v.Form = newForm(r)
		v.Data = d
		s.render(w, r, http.StatusUnprocessableEntity, "settings-privacy", v)
		return
	}
	_, err := s.priv.RequestErasure(r.Context(), v.principal(), privacy.Ref{MemberID: v.Member.ID}, privacy.RequestInput{})
	if e, ok := errAs(err); ok && e.Reason == "last_admin" {
		d, derr := s.centreData(r, v)
		if derr != nil {
			s.fail(w, r, v, derr)
			return
		}
		v.Title = v.T("privacy.title")
		d.Deleting, d.DeleteError = true, v.T("privacy.delete_last_admin")
		v.Data = d
		s.render(w, r, http.StatusConflict, "settings-privacy", v)
		return
	}
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.log.InfoContext(r.Context(), "member asked to be erased", "request_id", v.RequestID)
	s.clearSession(w)
	w.Header().Set("Clear-Site-Data", `"cookies", "storage"`)
	lang := v.Lang
	v.Member, v.token = nil, ""
	s.setLang(v, lang)
	v.Title = v.T("privacy.goodbye_title")
	// No tracker on this page: nothing more is to be sent about them.
	s.execute(w, r, 0, "goodbye", "layout", v)
}

// unlinkIdentity takes a linked social account off the member's profile.
func (s *Web) unlinkIdentity(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	typ, value := r.PostForm.Get("type"), r.PostForm.Get("value")
	if !privacy.Social(typ) {
		s.fail(w, r, v, errs.Invalid("type", "only linked social accounts can be unlinked here"))
		return
	}
	if err := s.unlink(r.Context(), v.principal(), typ, value); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/settings/privacy?notice=unlinked#identities")
}

// RegimeName words a data-subject request's regime.
func (v *view) RegimeName(r privacy.Regime) string { return v.T("privacy.regime." + string(r)) }

// RequestKindName words what a request asks for.
func (v *view) RequestKindName(k privacy.Kind) string { return v.T("privacy.kind." + string(k)) }

// RequestStatusName words where a request stands.
func (v *view) RequestStatusName(st privacy.Status) string {
	return v.T("privacy.status." + string(st))
}

// ProvisionItems lists what a provision record says was provided.
func (v *view) ProvisionItems(items []string) string { return strings.Join(items, v.T("list.sep")) }

// IdentityKind names an identifier type for its owner: the social service by its own name
// ("LINE", "Google"), the rest as staff pages call them.
func (v *view) IdentityKind(t string) string {
	provider, ok := strings.CutPrefix(t, "social:")
	if !ok {
		return v.IdentifierType(t)
	}
	provider, _, _ = strings.Cut(provider, ".") // a LINE provider's channel suffix
	switch provider {
	case "line":
		return "LINE"
	case "google":
		return "Google"
	case "facebook":
		return "Facebook"
	case "x", "twitter":
		return "X"
	case "apple":
		return "Apple"
	case "":
		return v.IdentifierType(t)
	}
	return strings.ToUpper(provider[:1]) + provider[1:]
}

// IdentityValue shows an identifier's value as its owner writes it: a Japanese phone number
// stored in E.164 (+819012345678) as 090-1234-5678.
func (v *view) IdentityValue(t, value string) string {
	national, ok := strings.CutPrefix(value, "+81")
	if t != "phone" || !ok {
		return value
	}
	n := "0" + national
	switch {
	case len(n) == 11 && (strings.HasPrefix(n, "090") || strings.HasPrefix(n, "080") || strings.HasPrefix(n, "070") || strings.HasPrefix(n, "050")):
		return n[:3] + "-" + n[3:7] + "-" + n[7:]
	case len(n) == 10 && (strings.HasPrefix(n, "03") || strings.HasPrefix(n, "06")):
		return n[:2] + "-" + n[2:6] + "-" + n[6:]
	}
	return n
}

// AuthorName is how pages name who wrote something: a former member when the account was erased
// (its tombstone has no name).
func (v *view) AuthorName(name string) string {
	if name == "" {
		return v.T("messages.former_member")
	}
	return name
}

// IsTombstone reports whether an author is an erased member, whose profile does not exist.
func (v *view) IsTombstone(name string) bool { return name == "" }
