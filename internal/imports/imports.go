// Package imports loads files of contacts, CRM accounts, purchases, contracts, support tickets and
// consents (CSV or JSON Lines, UTF-8 or Shift_JIS) into the customer data hub.
//
// An import runs in two passes over the file. The first reads and converts every row without
// writing: types (dates such as 令和7年1月2日, numbers with full-width digits and separators,
// money, yes/no, categories), required fields, usable customer identifiers, references to CRM
// accounts, and external ids used twice in the file. If any row is wrong nothing is written, and
// the report lists the rows by line number and field. The second pass re-reads the file (a
// stream that cannot seek is spooled to a temporary file during the first) and applies the rows
// in chunks, one transaction per chunk; the chunk's transaction also records in the imports
// table how many rows, up to which line, are in. A process that dies mid-way therefore leaves a
// record saying exactly which lines went in, and running the same file again is idempotent:
// records are upserted by external id and contacts by their identifiers, and rows that change
// nothing emit no events.
//
// Re-reading the file instead of keeping the converted rows keeps memory bounded whatever the
// size of the file: pass one keeps only a 64-bit hash per external id (for duplicates) and the
// first 1000 errors.
package imports

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/identity"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the imports tables. They need crm.Migrations (and what it needs).
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "imports", FS: sub}
}

// The permissions the imports part checks.
const (
	permWrite = accounts.PermManageMembers
	permRead  = accounts.PermViewMembers
)

// Import statuses.
const (
	StatusValidating  = "validating"
	StatusFailed      = "failed"
	StatusRunning     = "running"
	StatusDone        = "done"
	StatusInterrupted = "interrupted"
)

// MaxErrors is how many row errors a report lists; ErrorCount counts them all.
const MaxErrors = 1000

// DefaultChunkRows is how many rows one transaction applies.
const DefaultChunkRows = 2000

// Deps are what the importer needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Identity *identity.Graph
	CRM      *crm.Service
	Consent  *consent.Ledger  // for consents; that kind is refused when nil
	Log      *slog.Logger     // discarded when nil
	Now      func() time.Time // time.Now when nil
	TempDir  string           // where uploads that cannot seek are spooled; os.TempDir() when empty
}

// Importer runs imports and reads their records.
type Importer struct {
	db       *db.DB
	outbox   *backbone.Outbox
	identity *identity.Graph
	crm      *crm.Service
	consent  *consent.Ledger
	log      *slog.Logger
	now      func() time.Time
	tempDir  string
}

// New returns the importer.
func New(d Deps) *Importer {
	im := &Importer{db: d.DB, outbox: d.Outbox, identity: d.Identity, crm: d.CRM, consent: d.Consent, log: d.Log, now: d.Now, tempDir: d.TempDir}
	if im.now == nil {
		im.now = time.Now
	}
	if im.log == nil {
		im.log = slog.New(slog.DiscardHandler)
	}
	return im
}

// RowError is one fault found in a row.
type RowError struct {
	Line    int    `json:"line"`            // 1-based line of the file
	Field   string `json:"field,omitempty"` // the field at fault; empty when the whole row is
	Message string `json:"message"`
}

func (e RowError) String() string {
	if e.Field == "" {
		return fmt.Sprintf("%d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("%d: %s: %s", e.Line, e.Field, e.Message)
}

// Import is the record of one import.
type Import struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	FileName string `json:"file_name"`
	Format   string `json:"format"`
	Status   string `json:"status"` // validating, failed, running, done, interrupted
	// TotalRows is the number of data rows in the file, known once validation ends.
	TotalRows int `json:"total_rows"`
	// AppliedRows rows, being every data row up to file line AppliedLine, are in the database.
	AppliedRows int `json:"applied_rows"`
	AppliedLine int `json:"applied_line"`
	// ChangedRows of the applied rows changed something (the others were already so).
	ChangedRows int        `json:"changed_rows"`
	ErrorCount  int        `json:"error_count"`
	Errors      []RowError `json:"errors"` // the first MaxErrors
	Message     string     `json:"message,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	FinishedAt  time.Time  `json:"finished_at,omitzero"`
}

// Report is what Run returns: the import's record and what was learnt reading the file.
type Report struct {
	Import
	Encoding       string   `json:"encoding,omitempty"`        // utf-8 or shift_jis
	IgnoredColumns []string `json:"ignored_columns,omitempty"` // headers that map to no field
	DryRun         bool     `json:"dry_run,omitempty"`
	TookMS         int64    `json:"took_ms"` // wall time of Run
}

// ErrRowsInvalid is the error Run returns (wrapped in an errs.Invalid) when the file has bad rows;
// the report lists them.
var ErrRowsInvalid = errors.New("the file has invalid rows")

const importSelect = `SELECT id, kind, file_name, format, status, total_rows, applied_rows, applied_line, changed_rows, error_count,
	errors, message, created_by, created_at, updated_at, finished_at FROM imports`

func scanImports(rows *sql.Rows, err error) ([]Import, error) {
	if err != nil {
		return nil, fmt.Errorf("reading imports: %w", err)
	}
	defer rows.Close()
	var out []Import
	for rows.Next() {
		var im Import
		var errsJSON string
		var created, updated int64
		var finished sql.NullInt64
		if err := rows.Scan(&im.ID, &im.Kind, &im.FileName, &im.Format, &im.Status, &im.TotalRows, &im.AppliedRows, &im.AppliedLine,
			&im.ChangedRows, &im.ErrorCount, &errsJSON, &im.Message, &im.CreatedBy, &created, &updated, &finished); err != nil {
			return nil, fmt.Errorf("reading imports: %w", err)
		}
		if err := json.Unmarshal([]byte(errsJSON), &im.Errors); err != nil {
			return nil, fmt.Errorf("reading errors of import %s: %w", im.ID, err)
		}
		if im.Errors == nil {
			im.Errors = []RowError{}
		}
		im.CreatedAt, im.UpdatedAt, im.FinishedAt = db.Time(created), db.Time(updated), db.Time(finished.Int64)
		out = append(out, im)
	}
	return out, rows.Err()
}

// Get returns the import with id.
func (im *Importer) Get(ctx context.Context, p accounts.Principal, id string) (Import, error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return Import{}, err
	}
	list, err := scanImports(im.db.R.QueryContext(ctx, importSelect+` WHERE id = $1`, id))
	if err != nil {
		return Import{}, err
	}
	if len(list) == 0 {
		return Import{}, errs.NotFound("no import %s", id)
	}
	return list[0], nil
}

// List returns imports newest first, limit at most (1 to 100, default 20), after cursor (the
// next value of the previous page); next is "" on the last page.
func (im *Importer) List(ctx context.Context, p accounts.Principal, cursor string, limit int) (list []Import, next string, err error) {
	if err := accounts.Authorize(p, permRead); err != nil {
		return nil, "", err
	}
	limit = db.Limit(limit, 20, 100)
	q, args := importSelect+` ORDER BY id DESC LIMIT $1`, []any{limit + 1}
	if cursor != "" {
		q, args = importSelect+` WHERE id < $1 ORDER BY id DESC LIMIT $2`, []any{cursor, limit + 1}
	}
	list, err = scanImports(im.db.R.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, "", err
	}
	list, next = db.TrimPage(list, limit, func(i Import) string { return i.ID })
	if list == nil {
		list = []Import{}
	}
	return list, next, nil
}

// MarkInterrupted marks imports still validating or running whose last heartbeat is before
// staleBefore as interrupted, and returns how many. A process calls it at start with its start
// time (one node) or with a time well past the heartbeat interval (several nodes): their rows
// say how far they got, and running the file again finishes them.
func (im *Importer) MarkInterrupted(ctx context.Context, staleBefore time.Time) (int, error) {
	now := im.now()
	res, err := im.db.W.ExecContext(ctx, `UPDATE imports SET status = $1, message = $2, updated_at = $3, finished_at = $3
		WHERE status IN ($4, $5) AND updated_at < $6`, StatusInterrupted,
		"the process running the import stopped; the rows up to applied_line are in, run the file again to finish",
		db.Now(now), StatusValidating, StatusRunning, db.Now(staleBefore))
	if err != nil {
		return 0, fmt.Errorf("marking interrupted imports: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
