package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
)

// consentRoutes are the consent ledger: a customer's consents (current and history) and
// recording them, the decision a sender asks, the records of third-party provision, and the
// suppression list. Reading needs the read scope; recording consents and taking addresses off
// the suppression list the admin scope (as writing CRM records does); adding to the suppression
// list the write scope (marketers keep it).
func (a *API) consentRoutes() []route {
	const read = accounts.PermViewMembers
	return []route{
		{method: "GET", path: "/profiles/{id}/consents", perm: read, handle: a.profileConsents},
		{method: "POST", path: "/profiles/{id}/consents", perm: accounts.PermManageMembers, handle: a.recordConsents},
		{method: "GET", path: "/profiles/{id}/consents/check", perm: read, handle: a.checkConsent},
		{method: "GET", path: "/profiles/{id}/provisions", perm: read, handle: a.profileProvisions},
		{method: "GET", path: "/suppressions", perm: read, handle: a.listSuppressions},
		{method: "POST", path: "/suppressions", perm: accounts.PermManageMarketing, handle: a.addSuppression},
		{method: "DELETE", path: "/suppressions", perm: accounts.PermManageMembers, handle: a.removeSuppression},
	}
}

// consentsView is GET /profiles/{id}/consents: the current status of every channel and purpose
// with a record, and a page of the history.
type consentsView struct {
	Current    []consent.Record `json:"current"`
	History    []consent.Record `json:"history"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (a *API) profileConsents(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePage(r)
	if err != nil {
		return err
	}
	cur, err := a.consent.Current(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	hist, next, err := a.consent.History(r.Context(), p, r.PathValue("id"), after, page.Limit)
	if err != nil {
		return err
	}
	v := consentsView{Current: cur, History: hist}
	if next != "" {
		v.NextCursor = httpx.EncodeCursor(next)
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// consentBody is one consent in the body of POST /profiles/{id}/consents.
type consentBody struct {
	Channel     string `json:"channel"`
	Purpose     string `json:"purpose"`
	Status      string `json:"status"`
	RecordedAt  string `json:"recorded_at"` // RFC 3339; now when empty
	Source      string `json:"source"`      // api when empty
	TextVersion string `json:"text_version"`
	IP          string `json:"ip"`
	UserAgent   string `json:"user_agent"`
}

// maxConsents bounds the consents of one request.
const maxConsents = 100

func (a *API) recordConsents(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var body struct {
		Consents []consentBody `json:"consents"`
	}
	if err := httpx.DecodeJSON(w, r, &body, maxBody); err != nil {
		return err
	}
	switch {
	case len(body.Consents) == 0:
		return errs.Invalid("consents", "give at least one consent")
	case len(body.Consents) > maxConsents:
		return errs.Invalid("consents", "at most %d consents a request", maxConsents)
	}
	ins := make([]consent.Input, len(body.Consents))
	for i, c := range body.Consents {
		var at time.Time
		if s := strings.TrimSpace(c.RecordedAt); s != "" {
			var err error
			if at, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return errs.Invalid(fmt.Sprintf("consents[%d].recorded_at", i), "must be an RFC 3339 date-time such as 2026-04-01T10:30:00+09:00")
			}
		}
		ins[i] = consent.Input{Channel: consent.Channel(c.Channel), Purpose: consent.Purpose(c.Purpose), Status: consent.Status(c.Status),
			RecordedAt: at, Source: consent.Source(c.Source), TextVersion: c.TextVersion, IP: c.IP, UserAgent: c.UserAgent}
	}
	recs, err := a.consent.Record(r.Context(), p, r.PathValue("id"), ins)
	var be *consent.BatchError
	if errors.As(err, &be) {
		if e, ok := errs.As(be.Err); ok {
			c := *e
			c.Field = fmt.Sprintf("consents[%d].%s", be.Index, e.Field)
			return &c
		}
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, httpx.List[consent.Record]{Data: recs})
	return nil
}

func (a *API) checkConsent(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	q := r.URL.Query()
	// May takes no principal (senders are the system); the route's permission covers reading.
	d, err := a.consent.May(r.Context(), r.PathValue("id"), consent.Channel(q.Get("channel")), consent.Purpose(q.Get("purpose")), q.Get("address"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) profileProvisions(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	list, err := a.consent.Provisions(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeList(w, list, "")
	return nil
}

func (a *API) listSuppressions(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, after, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, next, err := a.consent.Suppressions(r.Context(), p, consent.SuppressionFilter{Channel: consent.Channel(q.Get("channel")),
		Reason: consent.SuppressionReason(q.Get("reason")), Value: q.Get("value")}, after, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}

// suppressionBody is the body of POST /suppressions.
type suppressionBody struct {
	Channel string `json:"channel"`
	Value   string `json:"value"`
	Reason  string `json:"reason"`
	Note    string `json:"note"`
}

func (a *API) addSuppression(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in suppressionBody
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	s, added, err := a.consent.Suppress(r.Context(), p, consent.SuppressionInput{Channel: consent.Channel(in.Channel), Value: in.Value,
		Reason: consent.SuppressionReason(in.Reason), Note: in.Note})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, s)
	return nil
}

func (a *API) removeSuppression(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	q := r.URL.Query()
	if q.Get("value") == "" {
		return errs.Invalid("value", "give the address to take off the list")
	}
	if _, err := a.consent.Unsuppress(r.Context(), p, consent.Channel(q.Get("channel")), q.Get("value"),
		consent.SuppressionReason(q.Get("reason"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
