package imports

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/imports/parse"
)

// StatusValid is the status of a dry run whose file has no faults. Dry runs are not stored.
const StatusValid = "valid"

// anonymousID is the anonymousId of the identify events a contact import emits: the import, not
// the staff member running it, is the source; the event carries the customer's profileId.
const anonymousID = "kizuna:import"

// heartbeat is how often a long validation touches its import's updated_at, so that
// MarkInterrupted can tell a live import from one whose process died.
const heartbeat = 5 * time.Second

// Input is one file to import.
type Input struct {
	Kind     string    // contacts, accounts, purchases, contracts, tickets or consents
	Format   string    // csv or jsonl; taken from FileName's extension when empty
	FileName string    // for the record and the format; may be empty when Format is set
	Body     io.Reader // the file; an io.ReadSeeker is read twice, anything else is spooled to a temporary file
	// Mapping maps source headers (matched ignoring case, width and spaces) to field names; it
	// overrides the kind's default headers for the columns it names. "" or "-" leaves a column out.
	Mapping map[string]string
	Options Options
	// Progress, when set, is called as the import goes: while validating with total 0 and done
	// the rows read so far, then after every applied chunk with done rows of total applied.
	Progress func(done, total int)
	// DryRun validates the file and reports, without writing anything (not even the record).
	DryRun bool
}

// FormatOf returns the import format named by format, or by the extension of fileName when
// format is empty: .csv/.txt are csv, .jsonl/.ndjson/.json are jsonl.
func FormatOf(format, fileName string) (string, error) {
	f := strings.ToLower(strings.TrimSpace(format))
	if f == "" {
		switch strings.ToLower(path.Ext(strings.ReplaceAll(fileName, `\`, "/"))) {
		case ".csv", ".txt":
			f = parse.FormatCSV
		case ".jsonl", ".ndjson", ".json":
			f = parse.FormatJSONL
		default:
			return "", errs.Invalid("format", "say whether the file is csv or jsonl (the file name %q does not tell)", fileName)
		}
	}
	switch f {
	case parse.FormatCSV, parse.FormatJSONL:
		return f, nil
	case "ndjson", "json":
		return parse.FormatJSONL, nil
	}
	return "", errs.Invalid("format", "%q is not an import format (use csv or jsonl)", format)
}

// Run imports one file for p, who needs accounts.PermManageMembers. It validates every row
// first; if any is wrong it writes nothing (but the import's record, status failed, listing the
// rows) and returns the report with an errs.Invalid error wrapping ErrRowsInvalid. Otherwise it
// applies the rows chunk by chunk (see the package comment) and returns the report of the
// finished import. An error while applying leaves the record saying how far it got.
func (im *Importer) Run(ctx context.Context, p accounts.Principal, in Input) (Report, error) {
	start := time.Now()
	rep, err := im.run(ctx, p, in)
	rep.TookMS = time.Since(start).Milliseconds()
	return rep, err
}

func (im *Importer) run(ctx context.Context, p accounts.Principal, in Input) (Report, error) {
	if err := accounts.Authorize(p, permWrite); err != nil {
		return Report{}, err
	}
	k, ok := KindOf(in.Kind)
	if !ok {
		return Report{}, errs.Invalid("kind", "%q is not an import kind (use %s)", in.Kind, strings.Join(Kinds, ", "))
	}
	format, err := FormatOf(in.Format, in.FileName)
	if err != nil {
		return Report{}, err
	}
	if k.Name == KindConsents && im.consent == nil {
		return Report{}, errs.Invalid("kind", "this importer was built without the consent ledger")
	}
	opts, err := in.Options.withDefaults()
	if err != nil {
		return Report{}, err
	}
	opts.now = im.now()
	cols, err := newColumns(k, in.Mapping)
	if err != nil {
		return Report{}, err
	}
	if in.Body == nil {
		return Report{}, errs.Invalid("file", "is required")
	}
	src, err := im.source(in.Body)
	if err != nil {
		return Report{}, err
	}
	defer src.close()
	progress := in.Progress
	if progress == nil {
		progress = func(int, int) {}
	}

	now := im.now()
	rep := Report{DryRun: in.DryRun, Import: Import{ID: id.New(now), Kind: k.Name, FileName: in.FileName, Format: format,
		Status: StatusValidating, CreatedBy: p.Actor(), CreatedAt: db.Time(db.Now(now)), UpdatedAt: db.Time(db.Now(now)), Errors: []RowError{}}}
	if !in.DryRun {
		if _, err := im.db.W.ExecContext(ctx, `INSERT INTO imports (id, kind, file_name, format, status, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, rep.ID, rep.Kind, rep.FileName, rep.Format, rep.Status, rep.CreatedBy, db.Now(now)); err != nil {
			return Report{}, fmt.Errorf("recording import: %w", err)
		}
	}
	r := &run{im: im, p: p, k: k, opts: opts, cols: cols, rep: &rep, progress: progress, dry: in.DryRun}

	if err := r.validate(ctx, src.first(), format); err != nil {
		return r.stop(ctx, err)
	}
	if err := src.rewind(); err != nil {
		return r.stop(ctx, err)
	}
	if rep.ErrorCount > 0 {
		rep.Status = StatusFailed
		rep.Message = fmt.Sprintf("%d of %d rows have errors; nothing was imported", rowsWithErrors(rep.Errors, rep.ErrorCount), rep.TotalRows)
		if err := r.finish(ctx); err != nil {
			return rep, err
		}
		return rep, &errs.Error{Kind: errs.KindInvalid, Field: "file", Msg: rep.Message, Err: ErrRowsInvalid}
	}
	if in.DryRun {
		rep.Status = StatusValid
		return rep, nil
	}
	if err := r.apply(ctx, src.second(), format); err != nil {
		return r.stop(ctx, err)
	}
	rep.Status = StatusDone
	if err := r.finish(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// rowsWithErrors counts the rows among errs, estimating from the listed ones when the list was
// cut.
func rowsWithErrors(list []RowError, count int) int {
	lines := map[int]bool{}
	for _, e := range list {
		lines[e.Line] = true
	}
	if count > len(list) {
		return len(lines) + (count - len(list)) // at most one row per further error
	}
	return len(lines)
}

// run is the state of one import.
type run struct {
	im       *Importer
	p        accounts.Principal
	k        *Kind
	opts     Options
	cols     *columns
	rep      *Report
	progress func(done, total int)
	dry      bool
}

func (r *run) fail(e RowError) {
	r.rep.ErrorCount++
	if len(r.rep.Errors) < MaxErrors {
		r.rep.Errors = append(r.rep.Errors, e)
	}
}

// validate is pass one: read and convert every row, collecting faults.
func (r *run) validate(ctx context.Context, body io.Reader, format string) error {
	rd, err := parse.NewReader(body, format, nil)
	if err != nil {
		return r.fileError(err)
	}
	if format == parse.FormatCSV {
		r.checkHeader(rd.Header())
	}
	seed := maphash.MakeSeed()
	seen := map[uint64]int32{}
	accountsSeen := map[string]bool{}
	beat := time.Now()
	var bad rowErrors
	for n := 0; ; n++ {
		if n%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.progress(n, 0)
			if !r.dry && time.Since(beat) > heartbeat {
				beat = time.Now()
				if _, err := r.im.db.W.ExecContext(ctx, `UPDATE imports SET updated_at = $1 WHERE id = $2`, db.Now(r.im.now()), r.rep.ID); err != nil {
					return fmt.Errorf("recording import progress: %w", err)
				}
			}
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		r.rep.TotalRows++
		var le *parse.LineError
		if errors.As(err, &le) {
			r.fail(RowError{Line: le.Line, Field: le.Field, Message: le.Msg})
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the file: %w", err)
		}
		bad = bad[:0]
		it := build(r.k, r.opts, r.cols, rec, &bad)
		if len(bad) == 0 && it.key != "" {
			h := maphash.String(seed, strings.TrimSpace(it.key))
			if first, dup := seen[h]; dup {
				bad.add(it.line, r.k.Key, errs.Invalid(r.k.Key, "%q is also on line %d: each row of a file must have its own %s", it.key, first, r.k.Key))
			} else {
				seen[h] = int32(it.line)
			}
		}
		if acc := strings.TrimSpace(accountOf(it.v)); len(bad) == 0 && acc != "" {
			ok, known := accountsSeen[acc]
			if !known {
				var one int
				err := r.im.db.R.QueryRowContext(ctx, `SELECT 1 FROM crm_accounts WHERE external_id = $1`, acc).Scan(&one)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("checking account %s: %w", acc, err)
				}
				ok = err == nil
				accountsSeen[acc] = ok
			}
			if !ok {
				bad.add(it.line, "account_external_id", errs.Invalid("account_external_id", "no CRM account has external id %q (import the accounts first)", acc))
			}
		}
		for _, e := range bad {
			r.fail(e)
		}
	}
	r.rep.Encoding = rd.Encoding()
	if r.rep.IgnoredColumns == nil { // JSON Lines: the keys
		r.rep.IgnoredColumns = r.cols.ignored()
	}
	r.progress(r.rep.TotalRows, 0)
	return nil
}

// checkHeader reports CSV headers that name one field twice.
func (r *run) checkHeader(header []string) {
	byField := map[string]string{}
	for _, h := range header {
		if h == "" {
			continue
		}
		t := r.cols.resolve(readerKey(h))
		if t.field == "" {
			if t.trait == "" && !t.skip {
				r.rep.IgnoredColumns = append(r.rep.IgnoredColumns, h)
			}
			continue
		}
		if prev, dup := byField[t.field]; dup {
			r.fail(RowError{Line: 1, Field: t.field, Message: fmt.Sprintf("the columns %q and %q both give this field; leave one out with a mapping", prev, h)})
			continue
		}
		byField[t.field] = h
	}
}

// fileError turns a fault of the whole file (an empty file, clashing headers) into its report.
func (r *run) fileError(err error) error {
	var le *parse.LineError
	if errors.As(err, &le) {
		r.fail(RowError{Line: le.Line, Field: le.Field, Message: le.Msg})
		return nil
	}
	return err
}

// apply is pass two: re-read the file and apply it chunk by chunk.
func (r *run) apply(ctx context.Context, body io.Reader, format string) error {
	rd, err := parse.NewReader(body, format, nil)
	if err != nil {
		return err
	}
	if _, err := r.im.db.W.ExecContext(ctx, `UPDATE imports SET status = $1, total_rows = $2, updated_at = $3 WHERE id = $4`,
		StatusRunning, r.rep.TotalRows, db.Now(r.im.now()), r.rep.ID); err != nil {
		return fmt.Errorf("recording import progress: %w", err)
	}
	r.rep.Status = StatusRunning
	r.progress(0, r.rep.TotalRows)

	// Reading and converting the next chunk overlaps writing this one: the writer is one
	// connection, the machine has more than one core.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunkOrFault, 1)
	go r.readChunks(ctx, rd, chunks)
	for c := range chunks {
		if c.fault != nil {
			cancel()
			for range chunks { // let the reader finish
			}
			if c.bad != nil {
				r.fail(*c.bad)
			}
			return c.fault
		}
		if err := ctx.Err(); err != nil {
			cancel()
			for range chunks {
			}
			return context.Cause(ctx)
		}
		if err := r.applyChunk(ctx, c.items); err != nil {
			cancel()
			for range chunks {
			}
			return err
		}
		r.progress(r.rep.AppliedRows, r.rep.TotalRows)
	}
	return nil
}

// chunkOrFault is what readChunks hands on: rows to apply, or why reading stopped.
type chunkOrFault struct {
	items []item
	bad   *RowError
	fault error
}

// readChunks converts the file's rows in chunks for apply, closing out when the file ends, ctx
// is cancelled or a row does not convert (the file changed since validation).
func (r *run) readChunks(ctx context.Context, rd *parse.Reader, out chan<- chunkOrFault) {
	defer close(out)
	send := func(c chunkOrFault) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	defer func() {
		if p := recover(); p != nil {
			send(chunkOrFault{fault: fmt.Errorf("converting rows: panic: %v", p)})
		}
	}()
	var bad rowErrors
	for {
		chunk := make([]item, 0, r.opts.ChunkRows)
		for len(chunk) < r.opts.ChunkRows {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				if len(chunk) > 0 {
					send(chunkOrFault{items: chunk})
				}
				return
			}
			if err != nil {
				send(chunkOrFault{fault: fmt.Errorf("re-reading the file: %w", err)})
				return
			}
			bad = bad[:0]
			it := build(r.k, r.opts, r.cols, rec, &bad)
			if len(bad) > 0 {
				send(chunkOrFault{bad: &bad[0], fault: fmt.Errorf("line %d changed since it was validated", rec.Line)})
				return
			}
			if c, ok := it.v.(*contact); ok {
				if err := c.digest(); err != nil {
					send(chunkOrFault{fault: err})
					return
				}
			}
			chunk = append(chunk, it)
		}
		if !send(chunkOrFault{items: chunk}) {
			return
		}
	}
}

// rowFailure is an error applying the row on line.
type rowFailure struct {
	line int
	err  error
}

func (f *rowFailure) Error() string { return fmt.Sprintf("line %d: %v", f.line, f.err) }
func (f *rowFailure) Unwrap() error { return f.err }

// applyChunk applies items in one transaction, which also records the import's progress.
func (r *run) applyChunk(ctx context.Context, chunk []item) error {
	now := r.im.now()
	changed := 0
	err := r.im.outbox.Tx(ctx, func(tx *sql.Tx) (err error) {
		switch r.k.Name {
		case KindContacts:
			changed, err = r.applyContacts(ctx, tx, chunk, now)
		case KindPurchases:
			changed, err = r.applyPurchases(ctx, tx, chunk, now)
		case KindConsents:
			changed, err = r.applyConsents(ctx, tx, chunk, now)
		default:
			changed = 0
			for _, it := range chunk {
				c, err := r.applyOne(ctx, tx, it, now)
				if err != nil {
					return &rowFailure{it.line, err}
				}
				if c {
					changed++
				}
			}
		}
		if err != nil {
			return err
		}
		last := chunk[len(chunk)-1].line
		if _, err := tx.ExecContext(ctx, `UPDATE imports SET applied_rows = applied_rows + $1, applied_line = $2, changed_rows = changed_rows + $3,
			updated_at = $4 WHERE id = $5`, len(chunk), last, changed, db.Now(now), r.rep.ID); err != nil {
			return fmt.Errorf("recording import progress: %w", err)
		}
		return nil
	})
	var rf *rowFailure
	if errors.As(err, &rf) && errs.KindOf(rf.err) == errs.KindInvalid {
		var field string
		if e, ok := errs.As(rf.err); ok {
			field = e.Field
		}
		r.fail(RowError{Line: rf.line, Field: field, Message: errMsg(rf.err)})
	}
	if err != nil {
		return err
	}
	r.rep.AppliedRows += len(chunk)
	r.rep.AppliedLine = chunk[len(chunk)-1].line
	r.rep.ChangedRows += changed
	return nil
}

func errMsg(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Msg
	}
	return err.Error()
}

func (r *run) reason(line int) string { return fmt.Sprintf("import %s line %d", r.rep.ID, line) }

// applyOne writes one row of a kind applied row by row in tx and says whether it changed
// anything.
func (r *run) applyOne(ctx context.Context, tx *sql.Tx, it item, now time.Time) (bool, error) {
	switch in := it.v.(type) {
	case crm.AccountInput:
		_, c, err := r.im.crm.ApplyAccount(ctx, tx, r.p.Actor(), in, now)
		return c, err
	case crm.ContractInput:
		_, c, err := r.im.crm.ApplyContract(ctx, tx, r.p.Actor(), in, now)
		return c, err
	case crm.TicketInput:
		_, c, err := r.im.crm.ApplyTicket(ctx, tx, in, now, r.reason(it.line))
		return c, err
	}
	return false, fmt.Errorf("unknown row type %T", it.v)
}

// applyPurchases writes a chunk of purchases with crm's batch write.
func (r *run) applyPurchases(ctx context.Context, tx *sql.Tx, chunk []item, now time.Time) (int, error) {
	ins := make([]crm.PurchaseInput, len(chunk))
	for i, it := range chunk {
		ins[i] = it.v.(crm.PurchaseInput)
	}
	_, changed, err := r.im.crm.ApplyPurchases(ctx, tx, ins, now, func(i int) string { return r.reason(chunk[i].line) })
	var be *crm.BatchError
	if errors.As(err, &be) {
		return 0, &rowFailure{chunk[be.Index].line, be.Err}
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range changed {
		if c {
			n++
		}
	}
	return n, nil
}

// applyConsents resolves each row's customer to a profile and appends its consent to the ledger
// with source import, the import's id and the person running it as evidence. A row that repeats
// a stored record exactly (run the file again) changes nothing.
func (r *run) applyConsents(ctx context.Context, tx *sql.Tx, chunk []item, now time.Time) (int, error) {
	batch := make([][]identity.ID, len(chunk))
	for i, it := range chunk {
		batch[i] = it.v.(*consentRow).ids
	}
	pids, err := r.im.identity.ResolveMany(ctx, tx, batch, func(i int) string { return r.reason(chunk[i].line) })
	var be *identity.BatchError
	if errors.As(err, &be) {
		return 0, &rowFailure{chunk[be.Index].line, be.Err}
	}
	if err != nil {
		return 0, err
	}
	changed := 0
	for i, it := range chunk {
		_, added, err := r.im.consent.Apply(ctx, tx, consent.Recording{Actor: r.p.Actor(), ProfileID: pids[i], Now: now,
			Inputs: []consent.Input{it.v.(*consentRow).in}, DefaultSource: consent.SourceImport, ImportID: r.rep.ID})
		if err != nil {
			var cbe *consent.BatchError
			if errors.As(err, &cbe) {
				err = cbe.Err
			}
			return 0, &rowFailure{it.line, err}
		}
		if added[0] {
			changed++
		}
	}
	return changed, nil
}

// applyContacts resolves each contact's identifiers to a profile, links it to its account, and
// emits an identify event with its traits for each profile this import has not said exactly
// that of before (a digest per profile in import_contacts); a separate consumer applies traits
// to profiles. Digests are read and written, and events emitted, for the chunk at once.
func (r *run) applyContacts(ctx context.Context, tx *sql.Tx, chunk []item, now time.Time) (int, error) {
	digests := make([]string, len(chunk))
	linked := make([]bool, len(chunk))
	batch := make([][]identity.ID, len(chunk))
	for i, it := range chunk {
		batch[i] = it.v.(*contact).ids
	}
	pids, err := r.im.identity.ResolveMany(ctx, tx, batch, func(i int) string { return r.reason(chunk[i].line) })
	var be *identity.BatchError
	if errors.As(err, &be) {
		return 0, &rowFailure{chunk[be.Index].line, be.Err}
	}
	if err != nil {
		return 0, err
	}
	for i, it := range chunk {
		c := it.v.(*contact)
		pid := pids[i]
		if c.account != "" {
			var err error
			if linked[i], err = r.im.crm.ApplyProfileAccount(ctx, tx, pid, c.account); err != nil {
				return 0, &rowFailure{it.line, err}
			}
		}
		digests[i] = c.sum
	}

	stored := make(map[string]string, len(chunk))
	distinct := make([]any, 0, len(chunk))
	for _, pid := range pids {
		if _, ok := stored[pid]; !ok {
			stored[pid] = ""
			distinct = append(distinct, pid)
		}
	}
	for start := 0; start < len(distinct); start += 500 {
		part := distinct[start:min(start+500, len(distinct))]
		rows, err := tx.QueryContext(ctx, `SELECT profile_id, digest FROM import_contacts WHERE profile_id IN `+r.im.db.Engine.Values(1, len(part)), part...)
		if err != nil {
			return 0, fmt.Errorf("reading contact digests: %w", err)
		}
		for rows.Next() {
			var pid, d string
			if err := rows.Scan(&pid, &d); err != nil {
				rows.Close()
				return 0, err
			}
			stored[pid] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}

	changed := 0
	var evs []event.Event
	var write []any // profile_id, digest pairs, one per profile
	written := map[string]int{}
	for i, it := range chunk {
		if stored[pids[i]] == digests[i] {
			if linked[i] {
				changed++
			}
			continue
		}
		changed++
		stored[pids[i]] = digests[i]
		if j, ok := written[pids[i]]; ok {
			write[j+1] = digests[i]
		} else {
			written[pids[i]] = len(write)
			write = append(write, pids[i], digests[i])
		}
		c := it.v.(*contact)
		ev := event.New(event.Identify, "", event.SourceImport, now)
		ev.AnonymousID = anonymousID
		ev.ProfileID = pids[i]
		ev.Traits = c.traits
		ev.Context = map[string]any{"import": map[string]any{"id": r.rep.ID, "line": it.line}}
		evs = append(evs, ev)
	}
	for start := 0; start < len(write); start += 1000 {
		part := write[start:min(start+1000, len(write))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_contacts (profile_id, digest) VALUES `+r.im.db.Engine.Values(len(part)/2, 2)+`
			ON CONFLICT (profile_id) DO UPDATE SET digest = excluded.digest`, part...); err != nil {
			return 0, fmt.Errorf("recording contacts: %w", err)
		}
	}
	if err := r.im.outbox.Emit(ctx, tx, evs...); err != nil {
		return 0, err
	}
	return changed, nil
}

// stop ends an import that could not go on: interrupted when ctx was cancelled, else failed. The
// record keeps how far it got.
func (r *run) stop(ctx context.Context, cause error) (Report, error) {
	r.rep.Status = StatusFailed
	if ctx.Err() != nil {
		r.rep.Status = StatusInterrupted
	}
	switch {
	case r.rep.AppliedRows > 0:
		r.rep.Message = fmt.Sprintf("stopped: %s; rows up to line %d (%d rows) are in, run the file again to finish", errMsg(cause), r.rep.AppliedLine, r.rep.AppliedRows)
	default:
		r.rep.Message = fmt.Sprintf("stopped: %s; nothing was imported", errMsg(cause))
	}
	if err := r.finish(context.WithoutCancel(ctx)); err != nil {
		r.im.log.Error("imports: recording a stopped import", "import", r.rep.ID, "err", err)
	}
	if errs.KindOf(cause) == errs.KindInvalid {
		return *r.rep, &errs.Error{Kind: errs.KindInvalid, Field: "file", Msg: r.rep.Message, Err: cause}
	}
	return *r.rep, fmt.Errorf("import %s: %w", r.rep.ID, cause)
}

// finish stores the import's outcome and emits Import Completed or Import Failed with it.
func (r *run) finish(ctx context.Context) error {
	now := r.im.now()
	r.rep.UpdatedAt, r.rep.FinishedAt = db.Time(db.Now(now)), db.Time(db.Now(now))
	if r.dry {
		return nil
	}
	errsJSON, err := json.Marshal(r.rep.Errors)
	if err != nil {
		return err
	}
	name := "Import Completed"
	if r.rep.Status != StatusDone {
		name = "Import Failed"
	}
	return r.im.outbox.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE imports SET status = $1, total_rows = $2, applied_rows = $3, applied_line = $4,
			changed_rows = $5, error_count = $6, errors = $7, message = $8, updated_at = $9, finished_at = $9 WHERE id = $10`,
			r.rep.Status, r.rep.TotalRows, r.rep.AppliedRows, r.rep.AppliedLine, r.rep.ChangedRows, r.rep.ErrorCount, string(errsJSON),
			r.rep.Message, db.Now(now), r.rep.ID); err != nil {
			return fmt.Errorf("recording import: %w", err)
		}
		return r.im.outbox.Emit(ctx, tx, event.Community(name, r.p.Actor(), now, map[string]any{
			"import_id": r.rep.ID, "kind": r.rep.Kind, "status": r.rep.Status, "file_name": r.rep.FileName, "rows": r.rep.TotalRows,
			"applied_rows": r.rep.AppliedRows, "changed_rows": r.rep.ChangedRows, "error_count": r.rep.ErrorCount,
		}))
	})
}

// digest sets c.sum to a digest of what the row says of its profile: identifiers and traits.
func (c *contact) digest() error {
	b, err := json.Marshal(struct {
		IDs    any            `json:"i"`
		Traits map[string]any `json:"t"`
	}{c.ids, c.traits})
	if err != nil {
		return fmt.Errorf("digesting contact: %w", err)
	}
	sum := sha256.Sum256(b)
	c.sum = hex.EncodeToString(sum[:16])
	return nil
}

// source is the file, readable twice: seeking back, or from a spool written while reading it
// the first time.
type source struct {
	seeker io.ReadSeeker
	start  int64
	body   io.Reader
	spool  *os.File
	w      *bufio.Writer
	tee    io.Reader
}

func (im *Importer) source(body io.Reader) (*source, error) {
	if rs, ok := body.(io.ReadSeeker); ok {
		if off, err := rs.Seek(0, io.SeekCurrent); err == nil {
			return &source{seeker: rs, start: off}, nil
		}
	}
	f, err := os.CreateTemp(im.tempDir, "kizuna-import-*")
	if err != nil {
		return nil, fmt.Errorf("spooling the upload: %w", err)
	}
	s := &source{body: body, spool: f, w: bufio.NewWriterSize(f, 256<<10)}
	s.tee = io.TeeReader(body, s.w)
	return s, nil
}

func (s *source) first() io.Reader {
	if s.seeker != nil {
		return s.seeker
	}
	return s.tee
}

// rewind makes the source ready for second: the rest of a spooled body is copied, so that the
// spool is whole even if the first pass stopped early.
func (s *source) rewind() error {
	if s.seeker != nil {
		_, err := s.seeker.Seek(s.start, io.SeekStart)
		return err
	}
	if _, err := io.Copy(io.Discard, s.tee); err != nil {
		return fmt.Errorf("spooling the upload: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spooling the upload: %w", err)
	}
	_, err := s.spool.Seek(0, io.SeekStart)
	return err
}

func (s *source) second() io.Reader {
	if s.seeker != nil {
		return s.seeker
	}
	return s.spool
}

func (s *source) close() {
	if s.spool != nil {
		s.spool.Close()
		os.Remove(s.spool.Name())
	}
}
