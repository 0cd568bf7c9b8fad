package imports

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/identity/normalize"
	"github.com/kizuna-community/kizuna/internal/imports/parse"
)

// Options are the settings of one import.
type Options struct {
	// CRMSystem names the CRM whose ids the crm_id column holds: identifiers of type
	// "crm:<system>". Default "crm".
	CRMSystem string `json:"crm_system,omitempty"`
	// Currency is the currency of amounts written without one. Default JPY.
	Currency string `json:"currency,omitempty"`
	// ChunkRows is how many rows one transaction applies. Default DefaultChunkRows.
	ChunkRows int `json:"chunk_rows,omitempty"`
	// TimeZone is the IANA zone of date-times written without an offset (2025/01/02 10:30), and
	// of dates given where a point in time is expected (a consent's recorded_at). Default
	// Asia/Tokyo: CRM exports write local times.
	TimeZone string `json:"time_zone,omitempty"`

	loc *time.Location // TimeZone loaded
	now time.Time      // when the import started: recorded times may not lie beyond it
}

func (o Options) withDefaults() (Options, error) {
	o.CRMSystem = strings.ToLower(strings.TrimSpace(o.CRMSystem))
	if o.CRMSystem == "" {
		o.CRMSystem = "crm"
	}
	if _, _, err := normalize.ParseType("crm:" + o.CRMSystem); err != nil {
		return o, errs.Invalid("crm_system", "%q is not a system name such as salesforce or hubspot", o.CRMSystem)
	}
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	if o.Currency == "" {
		o.Currency = "JPY"
	}
	if _, _, err := parse.MoneyIn("1", o.Currency); err != nil {
		return o, errs.Invalid("currency", "%q is not an ISO 4217 currency code such as JPY or USD", o.Currency)
	}
	if o.ChunkRows <= 0 {
		o.ChunkRows = DefaultChunkRows
	}
	o.TimeZone = strings.TrimSpace(o.TimeZone)
	if o.TimeZone == "" {
		o.TimeZone = "Asia/Tokyo"
	}
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil || strings.EqualFold(o.TimeZone, "local") {
		return o, errs.Invalid("time_zone", "%q is not a time zone name such as Asia/Tokyo or UTC", o.TimeZone)
	}
	o.loc = loc
	return o, nil
}

// target is where a column goes: a field of the kind, a trait (contacts) or nowhere.
type target struct {
	field string
	trait string
	skip  bool // left out by the mapping
}

// columns maps the reader's column keys (headers lower-cased, spaces as '_') to targets.
type columns struct {
	kind    *Kind
	mapping map[string]string // folded header → field, "" to skip
	alias   map[string]string
	cache   map[string]target
}

// ignored lists the columns seen so far that map nowhere, sorted.
func (c *columns) ignored() []string {
	var out []string
	for key, t := range c.cache {
		if t.field == "" && t.trait == "" && !t.skip {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// newColumns checks a header→field mapping against kind k.
func newColumns(k *Kind, mapping map[string]string) (*columns, error) {
	c := &columns{kind: k, mapping: map[string]string{}, alias: k.aliases(), cache: map[string]target{}}
	for from, to := range mapping {
		to = strings.TrimSpace(to)
		if to == "-" {
			to = ""
		}
		if _, ok := k.Field(to); !ok && to != "" && !k.Traits {
			names := make([]string, len(k.Fields))
			for i, f := range k.Fields {
				names[i] = f.Name
			}
			return nil, errs.Invalid("mapping", "%q maps to %q, which is not a field of %s (fields: %s; map to \"\" to leave a column out)",
				from, to, k.Name, strings.Join(names, ", "))
		}
		c.mapping[fold(from)] = to
	}
	return c, nil
}

// resolve returns the target of the column with reader key key.
func (c *columns) resolve(key string) target {
	if t, ok := c.cache[key]; ok {
		return t
	}
	var t target
	f := fold(key)
	to, mapped := c.mapping[f]
	switch {
	case mapped && to == "":
		t.skip = true
	case mapped:
		if _, ok := c.kind.Field(to); ok {
			t.field = to
		} else {
			t.trait = traitKey(to)
		}
	case c.alias[f] != "":
		t.field = c.alias[f]
	case c.kind.Traits:
		t.trait = traitKey(key)
	}
	c.cache[key] = t
	return t
}

// row is one record's text by field, and its traits (contacts).
type row struct {
	line   int
	vals   map[string]string
	traits map[string]string
}

// rowErrors collects the faults of one row.
type rowErrors []RowError

func (e *rowErrors) add(line int, field string, err error) {
	msg := err.Error()
	if ee, ok := errs.As(err); ok {
		msg = ee.Msg
		if ee.Field != "" && field == "" {
			field = ee.Field
		}
	}
	*e = append(*e, RowError{Line: line, Field: field, Message: msg})
}

// split sorts a record's columns into fields and traits. Two columns naming one field are an
// error of the row.
func (c *columns) split(rec parse.Record, bad *rowErrors) row {
	r := row{line: rec.Line, vals: make(map[string]string, len(rec.Fields))}
	from := map[string]string{}
	for key, v := range rec.Fields {
		t := c.resolve(key)
		v = strings.TrimSpace(v)
		switch {
		case t.field != "":
			if prev, dup := from[t.field]; dup {
				a, b := min(prev, key), max(prev, key)
				bad.add(rec.Line, t.field, fmt.Errorf("the columns %q and %q both give this field", a, b))
				continue
			}
			from[t.field] = key
			if v != "" {
				r.vals[t.field] = v
			}
		case t.trait != "" && v != "":
			if r.traits == nil {
				r.traits = map[string]string{}
			}
			r.traits[t.trait] = v
		}
	}
	return r
}

// typed holds a row's values converted by field type.
type typed struct {
	row
	text   map[string]string
	dates  map[string]time.Time
	nums   map[string]float64
	bools  map[string]bool
	money  map[string]money
	custom []identity.ID // the customer's identifiers, normalised and usable
}

type money struct {
	minor    int64
	currency string
}

// convert checks required fields and converts every field by its type.
func convert(k *Kind, opts Options, r row, bad *rowErrors) typed {
	t := typed{row: r, text: map[string]string{}}
	for _, f := range k.Fields {
		v, ok := r.vals[f.Name]
		if !ok {
			if f.Required {
				bad.add(r.line, f.Name, errs.Invalid(f.Name, "is required"))
			}
			continue
		}
		switch f.Type {
		case TypeText:
			t.text[f.Name] = v
		case TypeDate:
			d, err := parse.Date(v)
			if err != nil {
				bad.add(r.line, f.Name, err)
				continue
			}
			if t.dates == nil {
				t.dates = map[string]time.Time{}
			}
			t.dates[f.Name] = d
		case TypeDateTime:
			d, err := parse.DateTime(v, opts.loc)
			if err != nil {
				bad.add(r.line, f.Name, err)
				continue
			}
			if t.dates == nil {
				t.dates = map[string]time.Time{}
			}
			t.dates[f.Name] = d
		case TypeNumber:
			n, err := parse.Number(v)
			if err != nil {
				bad.add(r.line, f.Name, err)
				continue
			}
			if t.nums == nil {
				t.nums = map[string]float64{}
			}
			t.nums[f.Name] = n
		case TypeBool:
			b, err := parse.Bool(v)
			if err != nil {
				bad.add(r.line, f.Name, err)
				continue
			}
			if t.bools == nil {
				t.bools = map[string]bool{}
			}
			t.bools[f.Name] = b
		case TypeCategory:
			c, err := parse.Category(v, f.choices())
			if err != nil {
				bad.add(r.line, f.Name, err)
				continue
			}
			if s, ok := f.Synonyms[c]; ok {
				c = s
			}
			t.text[f.Name] = c
		case TypeMoney:
			cur := opts.Currency
			col := strings.ToUpper(r.vals["currency"])
			if col != "" {
				cur = col
			}
			minor, c, err := parse.MoneyIn(v, cur)
			if err != nil {
				bad.add(r.line, f.Name, err)
				continue
			}
			if col != "" && c != col {
				bad.add(r.line, f.Name, errs.Invalid(f.Name, "is in %s but the currency column says %s", c, col))
				continue
			}
			if t.money == nil {
				t.money = map[string]money{}
			}
			t.money[f.Name] = money{minor, c}
		}
	}
	return t
}

// identifierType is the identity graph type of each customer identifier field.
func identifierType(field string, opts Options) string {
	switch field {
	case "crm_id":
		return "crm:" + opts.CRMSystem
	default:
		return field
	}
}

// customer checks the identifier columns and keeps the usable ones. A malformed value is an
// error; a placeholder (test@example.com, 0000) is dropped, and a row left with none is an error.
func (t *typed) customer(opts Options, bad *rowErrors) {
	given, before := false, len(*bad)
	for _, f := range customerFields {
		v, ok := t.text[f.Name]
		if !ok {
			continue
		}
		given = true
		typ := identifierType(f.Name, opts)
		nv, err := normalize.Value(typ, v)
		if err != nil {
			bad.add(t.line, f.Name, err)
			continue
		}
		if normalize.Junk(nv) {
			continue
		}
		t.custom = append(t.custom, identity.ID{Type: typ, Value: nv})
	}
	if len(t.custom) == 0 && len(*bad) == before {
		msg := "no customer identifier: give an email, phone, user_id, crm_id or store_member column"
		if given {
			msg = "no usable customer identifier: the values given are placeholders (such as test@example.com or 0000)"
		}
		bad.add(t.line, "customer", errs.Invalid("customer", "%s", msg))
	}
}

// contact is a contacts row ready to apply.
type contact struct {
	ids     []identity.ID
	traits  map[string]any
	account string
	sum     string // set by digest before applying
}

// item is one converted row: a *contact or a crm input.
type item struct {
	line int
	key  string // the external id, for duplicate detection; "" for contacts
	v    any
}

// build converts a record of kind k into an item, or reports its faults in bad.
func build(k *Kind, opts Options, c *columns, rec parse.Record, bad *rowErrors) item {
	r := c.split(rec, bad)
	t := convert(k, opts, r, bad)
	it := item{line: rec.Line, key: t.text[k.Key]}
	crmErr := func(err error) {
		if err == nil {
			return
		}
		field := ""
		if e, ok := errs.As(err); ok {
			field = e.Field
		}
		switch field {
		case "amount_minor":
			field = "amount"
		}
		bad.add(rec.Line, field, err)
	}
	switch k.Name {
	case KindContacts:
		t.customer(opts, bad)
		ct := &contact{ids: t.custom, account: t.text["account_external_id"], traits: map[string]any{}}
		for name, v := range t.traits {
			ct.traits[name] = v
		}
		for _, f := range k.Fields {
			switch {
			case slices.ContainsFunc(customerFields, func(cf Field) bool { return cf.Name == f.Name }) || f.Name == "account_external_id":
			case f.Type == TypeDate:
				if d, ok := t.dates[f.Name]; ok {
					ct.traits[f.Name] = d.Format("2006-01-02")
				}
			case f.Type == TypeNumber:
				if n, ok := t.nums[f.Name]; ok {
					if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
						ct.traits[f.Name] = int64(n)
					} else {
						ct.traits[f.Name] = n
					}
				}
			case f.Type == TypeBool:
				if b, ok := t.bools[f.Name]; ok {
					ct.traits[f.Name] = b
				}
			default:
				if s, ok := t.text[f.Name]; ok {
					ct.traits[f.Name] = s
				}
			}
		}
		for _, id := range t.custom {
			if id.Type == "email" || id.Type == "phone" {
				ct.traits[id.Type] = id.Value
			}
		}
		it.v = ct
	case KindAccounts:
		in := crm.AccountInput{ExternalID: t.text["external_id"], Name: t.text["name"], Domain: t.text["domain"],
			Industry: t.text["industry"], Plan: t.text["plan"]}
		if len(*bad) == 0 {
			crmErr(in.Validate())
		}
		it.v = in
	case KindPurchases:
		t.customer(opts, bad)
		m := t.money["amount"]
		in := crm.PurchaseInput{ExternalID: t.text["external_id"], Customer: t.custom, AccountExternalID: t.text["account_external_id"],
			AmountMinor: m.minor, Currency: m.currency, PurchasedAt: t.dates["purchased_at"], Product: t.text["product"]}
		if len(*bad) == 0 {
			crmErr(in.Validate())
		}
		it.v = in
	case KindContracts:
		m := t.money["amount"]
		in := crm.ContractInput{ExternalID: t.text["external_id"], AccountExternalID: t.text["account_external_id"], Plan: t.text["plan"],
			Status: t.text["status"], StartsOn: t.dates["starts_on"], RenewsOn: t.dates["renews_on"], AmountMinor: m.minor, Currency: m.currency}
		if len(*bad) == 0 {
			crmErr(in.Validate())
		}
		it.v = in
	case KindTickets:
		t.customer(opts, bad)
		in := crm.TicketInput{ExternalID: t.text["external_id"], Customer: t.custom, AccountExternalID: t.text["account_external_id"],
			Subject: t.text["subject"], Status: t.text["status"], Priority: t.text["priority"], OpenedAt: t.dates["opened_at"], SolvedAt: t.dates["solved_at"]}
		if len(*bad) == 0 {
			crmErr(in.Validate())
		}
		it.v = in
	case KindConsents:
		t.customer(opts, bad)
		row := &consentRow{ids: t.custom, in: consent.Input{Channel: consent.Channel(t.text["channel"]), Status: consent.Status(t.text["status"]),
			RecordedAt: t.dates["recorded_at"], Source: consent.SourceImport, TextVersion: t.text["text_version"], IP: t.text["ip"],
			UserAgent: t.text["user_agent"]}}
		if v, ok := t.text["purpose"]; ok {
			pu, err := consentPurpose(v)
			if err != nil {
				bad.add(rec.Line, "purpose", err)
			}
			row.in.Purpose = pu
		}
		if len(*bad) == 0 {
			crmErr(consent.Validate([]consent.Input{row.in}, opts.now, consent.SourceImport))
		}
		it.v = row
	}
	return it
}

// consentRow is a consents row ready to apply.
type consentRow struct {
	ids []identity.ID
	in  consent.Input
}

// consentPurpose reads a purpose as CRMs write it: a purpose name, a Japanese or English synonym,
// or a third party as third_party:<name> or 第三者提供:<name>.
func consentPurpose(v string) (consent.Purpose, error) {
	f := strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(v))), " ")
	if p, ok := consentPurposeWords[f]; ok {
		return consent.Purpose(p), nil
	}
	for _, prefix := range []string{"第三者提供:", "第三者提供 :", "third party:", "third-party:", "3rd party:"} {
		if rest, ok := strings.CutPrefix(f, prefix); ok {
			f = "third_party:" + strings.TrimSpace(rest)
			break
		}
	}
	return consent.ParsePurpose("purpose", f)
}

// accountOf is the CRM account a converted row refers to, "" for none.
func accountOf(v any) string {
	switch in := v.(type) {
	case *contact:
		return in.account
	case crm.PurchaseInput:
		return in.AccountExternalID
	case crm.ContractInput:
		return in.AccountExternalID
	case crm.TicketInput:
		return in.AccountExternalID
	}
	return ""
}
