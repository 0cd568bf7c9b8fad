package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/imports"
)

// maxImportBody bounds an uploaded import file (a million rows of a wide CSV fit).
const maxImportBody = 1 << 30

// importRoutes are the file imports of the customer data hub: contacts, CRM accounts,
// purchases, contracts and tickets from CSV or JSON Lines.
func (a *API) importRoutes() []route {
	return []route{
		{method: "POST", path: "/imports", perm: accounts.PermManageMembers, handle: a.createImport},
		{method: "GET", path: "/imports", perm: accounts.PermViewMembers, handle: a.listImports},
		{method: "GET", path: "/imports/{id}", perm: accounts.PermViewMembers, handle: a.getImport},
	}
}

// importFailure is the answer to an import whose rows are wrong: the error and the import's
// report, which lists the rows.
type importFailure struct {
	Error  httpx.ErrorDetail `json:"error"`
	Import imports.Report    `json:"import"`
}

// createImport takes the file as the raw body (text/csv, application/x-ndjson) or as the "file"
// part of a multipart/form-data body, with an optional "mapping" part; ?kind=, ?format=,
// ?crm_system=, ?currency=, ?time_zone=, ?mapping= (JSON) and ?dry_run=true set the rest.
func (a *API) createImport(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	q := r.URL.Query()
	in := imports.Input{Kind: q.Get("kind"), Format: q.Get("format"), FileName: q.Get("file_name"),
		Options: imports.Options{CRMSystem: q.Get("crm_system"), Currency: q.Get("currency"), TimeZone: q.Get("time_zone")}}
	if v := q.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errs.Invalid("dry_run", "must be true or false")
		}
		in.DryRun = b
	}
	if v := q.Get("mapping"); v != "" {
		if err := json.Unmarshal([]byte(v), &in.Mapping); err != nil {
			return errs.Invalid("mapping", "must be a JSON object of header → field names")
		}
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBody)
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return errs.Invalid("Content-Type", "send the file as text/csv, application/x-ndjson or multipart/form-data")
	}
	switch ct {
	case "multipart/form-data":
		f, err := a.importUpload(body, params["boundary"], &in)
		if err != nil {
			return err
		}
		defer func() { f.Close(); os.Remove(f.Name()) }()
		in.Body = f
	case "text/csv", "application/csv":
		in.Body = body
		if in.Format == "" {
			in.Format = "csv"
		}
	case "application/x-ndjson", "application/jsonl", "application/x-jsonlines":
		in.Body = body
		if in.Format == "" {
			in.Format = "jsonl"
		}
	default:
		return errs.Invalid("Content-Type", "send the file as text/csv, application/x-ndjson or multipart/form-data, not %s", ct)
	}

	rep, err := a.imports.Run(r.Context(), p, in)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if rep.ID != "" && errs.KindOf(err) == errs.KindInvalid && !errors.As(err, &tooLarge) {
			httpx.WriteJSON(w, http.StatusUnprocessableEntity, importFailure{Import: rep, Error: httpx.ErrorDetail{
				Code: errs.KindInvalid.String(), Message: rep.Message, Field: "file", RequestID: httpx.RequestIDFrom(r.Context())}})
			return nil
		}
		return err
	}
	status := http.StatusCreated
	if rep.DryRun {
		status = http.StatusOK
	} else {
		w.Header().Set("Location", Prefix+"/imports/"+rep.ID)
	}
	httpx.WriteJSON(w, status, rep)
	return nil
}

// importUpload reads a multipart body: the "mapping" part into in.Mapping and the "file" part
// into a temporary file (so that the parts may come in any order), which it returns.
func (a *API) importUpload(body io.Reader, boundary string, in *imports.Input) (*os.File, error) {
	if boundary == "" {
		return nil, errs.Invalid("Content-Type", "multipart/form-data needs a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var spool *os.File
	fail := func(err error) (*os.File, error) {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return fail(err)
			}
			return fail(errs.Invalid("file", "the multipart body is malformed: %v", err))
		}
		switch part.FormName() {
		case "mapping":
			b, err := io.ReadAll(io.LimitReader(part, maxBody))
			if err != nil {
				return fail(err)
			}
			if err := json.Unmarshal(b, &in.Mapping); err != nil {
				return fail(errs.Invalid("mapping", "must be a JSON object of header → field names"))
			}
		case "file":
			if spool != nil {
				return fail(errs.Invalid("file", "send one file per import"))
			}
			if spool, err = os.CreateTemp("", "kizuna-upload-*"); err != nil {
				return fail(fmt.Errorf("spooling the upload: %w", err))
			}
			if _, err := io.Copy(spool, part); err != nil {
				return fail(err)
			}
			if in.FileName == "" {
				in.FileName = part.FileName()
			}
		}
		part.Close()
	}
	if spool == nil {
		return nil, errs.Invalid("file", "is required: send the file as the multipart part named \"file\"")
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	if in.Format == "" && strings.TrimSpace(in.FileName) == "" {
		in.Format = "csv"
	}
	return spool, nil
}

func (a *API) getImport(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	im, err := a.imports.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, im)
	return nil
}

func (a *API) listImports(w http.ResponseWriter, r *http.Request, p accounts.Principal) error {
	page, pos, err := parsePageSized(r, 20, 100)
	if err != nil {
		return err
	}
	list, next, err := a.imports.List(r.Context(), p, pos, page.Limit)
	if err != nil {
		return err
	}
	writeList(w, list, next)
	return nil
}
