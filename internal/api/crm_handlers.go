package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/imports/parse"
)

// crmRoutes write CRM records one at a time, keyed by the CRM's external id (PUT is an
// idempotent upsert), and read a customer's records. Field names and value formats are the
// import's: dates as 2025-01-02, 2025/01/02, 令和7年1月2日 or RFC 3339; amounts as "¥1,234",
// "12.34 USD" or a plain number in the currency given.
func (a *API) crmRoutes() []route {
	const write, read = accounts.PermManageMembers, accounts.PermViewMembers
	return []route{
		{method: "PUT", path: "/accounts/{external_id}", perm: write, handle: a.putAccount},
		{method: "PUT", path: "/purchases/{external_id}", perm: write, handle: a.putPurchase},
		{method: "PUT", path: "/contracts/{external_id}", perm: write, handle: a.putContract},
		{method: "PUT", path: "/tickets/{external_id}", perm: write, handle: a.putTicket},
		{method: "GET", path: "/profiles/{id}/records", perm: read, handle: a.profileRecords},
	}
}

// accountBody is the body of PUT /accounts/{external_id}.
type accountBody struct {
	Name     string `json:"name"`
	Domain   string `json:"domain"`
	Industry string `json:"industry"`
	Plan     string `json:"plan"`
}

func (a *API) putAccount(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in accountBody
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	acc, err := a.crm.UpsertAccount(r.Context(), p, crm.AccountInput{ExternalID: r.PathValue("external_id"), Name: in.Name,
		Domain: in.Domain, Industry: in.Industry, Plan: in.Plan})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, acc)
	return nil
}

// amountText is an amount as JSON gives it: a string ("¥1,234", "12.34 USD") or a number.
type amountText string

func (m *amountText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = amountText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errs.Invalid("amount", "must be a number or a string such as \"¥1,234\"")
	}
	*m = amountText(n.String())
	return nil
}

// money reads an amount in currency (default JPY) as minor units.
func money(field string, v amountText, currency string) (int64, string, error) {
	if currency == "" {
		currency = "JPY"
	}
	minor, cur, err := parse.MoneyIn(string(v), currency)
	if err != nil {
		return 0, "", errs.Invalid(field, "%s", errMessage(err))
	}
	return minor, cur, nil
}

// date reads an optional date; "" is the zero time.
func date(field, v string) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, nil
	}
	t, err := parse.Date(v)
	if err != nil {
		return time.Time{}, errs.Invalid(field, "%s", errMessage(err))
	}
	return t, nil
}

func errMessage(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Msg
	}
	return err.Error()
}

// purchaseBody is the body of PUT /purchases/{external_id}.
type purchaseBody struct {
	Customer          []identity.ID `json:"customer"`
	AccountExternalID string        `json:"account_external_id"`
	Amount            amountText    `json:"amount"`
	Currency          string        `json:"currency"`
	PurchasedAt       string        `json:"purchased_at"`
	Product           string        `json:"product"`
}

func (a *API) putPurchase(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in purchaseBody
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	minor, cur, err := money("amount", in.Amount, in.Currency)
	if err != nil {
		return err
	}
	at, err := date("purchased_at", in.PurchasedAt)
	if err != nil {
		return err
	}
	pu, err := a.crm.UpsertPurchase(r.Context(), p, crm.PurchaseInput{ExternalID: r.PathValue("external_id"), Customer: in.Customer,
		AccountExternalID: in.AccountExternalID, AmountMinor: minor, Currency: cur, PurchasedAt: at, Product: in.Product})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pu)
	return nil
}

// contractBody is the body of PUT /contracts/{external_id}.
type contractBody struct {
	AccountExternalID string     `json:"account_external_id"`
	Plan              string     `json:"plan"`
	Status            string     `json:"status"`
	StartsOn          string     `json:"starts_on"`
	RenewsOn          string     `json:"renews_on"`
	Amount            amountText `json:"amount"`
	Currency          string     `json:"currency"`
}

func (a *API) putContract(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in contractBody
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	minor, cur, err := money("amount", in.Amount, in.Currency)
	if err != nil {
		return err
	}
	starts, err := date("starts_on", in.StartsOn)
	if err != nil {
		return err
	}
	renews, err := date("renews_on", in.RenewsOn)
	if err != nil {
		return err
	}
	c, err := a.crm.UpsertContract(r.Context(), p, crm.ContractInput{ExternalID: r.PathValue("external_id"), AccountExternalID: in.AccountExternalID,
		Plan: in.Plan, Status: in.Status, StartsOn: starts, RenewsOn: renews, AmountMinor: minor, Currency: cur})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

// ticketBody is the body of PUT /tickets/{external_id}.
type ticketBody struct {
	Customer          []identity.ID `json:"customer"`
	AccountExternalID string        `json:"account_external_id"`
	Subject           string        `json:"subject"`
	Status            string        `json:"status"`
	Priority          string        `json:"priority"`
	OpenedAt          string        `json:"opened_at"`
	SolvedAt          string        `json:"solved_at"`
}

func (a *API) putTicket(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	var in ticketBody
	if err := httpx.DecodeJSON(w, r, &in, maxBody); err != nil {
		return err
	}
	opened, err := date("opened_at", in.OpenedAt)
	if err != nil {
		return err
	}
	solved, err := date("solved_at", in.SolvedAt)
	if err != nil {
		return err
	}
	t, err := a.crm.UpsertTicket(r.Context(), p, crm.TicketInput{ExternalID: r.PathValue("external_id"), Customer: in.Customer,
		AccountExternalID: in.AccountExternalID, Subject: in.Subject, Status: in.Status, Priority: in.Priority, OpenedAt: opened, SolvedAt: solved})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) profileRecords(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	recs, err := a.crm.ForProfile(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if recs.Purchases == nil {
		recs.Purchases = []crm.Purchase{}
	}
	if recs.Contracts == nil {
		recs.Contracts = []crm.Contract{}
	}
	if recs.Tickets == nil {
		recs.Tickets = []crm.Ticket{}
	}
	httpx.WriteJSON(w, http.StatusOK, recs)
	return nil
}
