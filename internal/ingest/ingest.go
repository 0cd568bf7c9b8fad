// Package ingest is the Segment-compatible tracking API (/v1/identify, /v1/track, /v1/page,
// /v1/screen, /v1/group, /v1/alias, /v1/batch and /v1/import). It authenticates a source by its
// write key, enforces Segment's limits (32 KB per event, 500 KB and 2,500 events per batch) by
// refusing the whole request with a 400 that names the event at fault, fills the server-side
// fields (messageId when missing, receivedAt, the skew-corrected timestamp), drops message ids
// the source sent in the last 24 h or more, and answers 200 only once the events are durably on
// the backbone's stream.
package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/id"
)

//go:embed migrations seenmigrations
var migrationsFS embed.FS

// Migrations are the ingest tables: sources and seen_messages.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "ingest", FS: sub}
}

// SeenMigrations make seen_messages in the database Deps.SeenDB names (a no-op where Migrations
// already made it).
func SeenMigrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "seenmigrations")
	return db.Migrations{Part: "ingest-seen", FS: sub}
}

// Limits from the Segment HTTP API, measured on the decompressed JSON.
const (
	MaxEventBytes  = 32 * 1024  // one call, or one event of a batch
	MaxBatchBytes  = 500 * 1024 // one request
	MaxBatchEvents = 2500       // events in one batch
)

// maxRawBytes bounds the body as sent (gzip of incompressible data is a little larger).
const maxRawBytes = MaxBatchBytes + 64*1024

// ContextSourceID is the context key that carries the id of the source an event came through;
// whatever the client put there is replaced. Event.Source is event.SourceTracking.
const ContextSourceID = "source_id"

// Appender puts events durably on the event stream; backbone.Backbone is one.
type Appender interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Forgetter says which user ids and anonymous ids belong to people who were erased (or are
// being erased): their events are dropped, so a browser or a server that still sends them
// cannot bring the person back. privacy.Service is one.
type Forgetter interface {
	Forgotten(ctx context.Context, ids []dsr.Identifier) (map[dsr.Identifier]bool, error)
}

// Deps are what the tracking API needs.
type Deps struct {
	DB *db.DB
	// SeenDB keeps the message ids seen for dedupe; DB when nil. On SQLite it is a file of its
	// own, so that acknowledging a call never waits for the main database's one writer.
	SeenDB   *db.DB
	Appender Appender
	// Forgotten, when set, drops the events of erased people.
	Forgotten Forgetter
	Log       *slog.Logger
	Now       func() time.Time // time.Now when nil
}

// Ingest serves the tracking API.
type Ingest struct {
	seen    *db.DB
	app     Appender
	forgot  Forgetter
	log     *slog.Logger
	now     func() time.Time
	sources *Sources
	group   groupCommit
}

// New returns the tracking API.
func New(d Deps) *Ingest {
	i := &Ingest{seen: d.SeenDB, app: d.Appender, forgot: d.Forgotten, log: d.Log, now: d.Now}
	if i.seen == nil {
		i.seen = d.DB
	}
	if i.now == nil {
		i.now = time.Now
	}
	if i.log == nil {
		i.log = slog.New(slog.DiscardHandler)
	}
	i.sources = NewSources(d.DB, i.now)
	return i
}

// Sources are the sources this API authenticates; revoking through them takes effect at once here.
func (i *Ingest) Sources() *Sources { return i.sources }

// Routes registers the /v1 endpoints and the browser tracker, GET /kizuna.js, on mux. Any
// Content-Type is accepted: kizuna.js sends text/plain, which needs no CORS preflight.
func (i *Ingest) Routes(mux *http.ServeMux) {
	for _, typ := range []string{event.Identify, event.Track, event.Page, event.Screen, event.Group, event.Alias} {
		mux.Handle("POST /v1/"+typ, i.handler(typ))
	}
	mux.Handle("POST /v1/batch", i.handler(""))
	mux.Handle("POST /v1/import", i.handler(""))
	mux.HandleFunc("OPTIONS /v1/", preflight)
	mux.HandleFunc("GET /kizuna.js", serveTracker)
}

// preflight answers browsers' CORS checks: write keys are public, so any origin may send.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// handler serves one endpoint: typ is the call type, or "" for a batch.
func (i *Ingest) handler(typ string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if err := i.serve(r, typ); err != nil {
			if errs.KindOf(err) == errs.KindUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Basic realm="kizuna tracking"`)
			}
			httpx.WriteError(w, r, i.log, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func (i *Ingest) serve(r *http.Request, typ string) error {
	headerKey, password, hasBasic := r.BasicAuth()
	if headerKey == "" {
		headerKey = password // some callers put the key in the password: -u :KEY
	}
	body, readErr := readBody(r)

	// Who is sending comes first, so strangers learn nothing about what they sent.
	var batch wireBatch
	var single wireEvent
	var parseErr error
	if readErr == nil {
		if typ == "" {
			parseErr = decode(body, &batch)
		} else {
			parseErr = decode(body, &single)
		}
	}
	key := headerKey
	if !hasBasic || key == "" {
		key = batch.WriteKey
		if typ != "" {
			key = single.WriteKey
		}
	}
	if key == "" {
		return errBadKey
	}
	src, err := i.sources.Authenticate(r.Context(), key)
	if err != nil {
		return err
	}
	if readErr != nil {
		return readErr
	}
	if parseErr != nil {
		return errs.Invalid("body", "the body is not valid JSON: %s", jsonProblem(parseErr))
	}

	now := i.now().UTC()
	// U+0000 is valid JSON but no database text type takes it (PostgreSQL refuses it in text and
	// jsonb): it is replaced in every string, keys included. Bodies without one skip the walk.
	nul := bytes.Contains(body, []byte(`\u0000`))
	var evs []event.Event
	if typ == "" {
		if len(batch.Batch) > MaxBatchEvents {
			return errs.Invalid("batch", "the batch has %d events; the limit is %d", len(batch.Batch), MaxBatchEvents)
		}
		evs = make([]event.Event, 0, len(batch.Batch))
		for n, raw := range batch.Batch {
			if len(raw) > MaxEventBytes {
				return errs.Invalid(fmt.Sprintf("batch[%d]", n), "event %d is %s; the limit is %s", n, kb(len(raw)), kb(MaxEventBytes))
			}
			var we wireEvent
			if err := decode(raw, &we); err != nil {
				return errs.Invalid(fmt.Sprintf("batch[%d]", n), "event %d is not a valid event: %s", n, jsonProblem(err))
			}
			ev := build(we, we.Type, batch.Context, batch.SentAt.time(), src.ID, now)
			if nul {
				scrubNUL(&ev)
			}
			if err := ev.Validate(); err != nil {
				return eventProblem(err, fmt.Sprintf("batch[%d]", n), fmt.Sprintf("event %d", n))
			}
			evs = append(evs, ev)
		}
	} else {
		if len(body) > MaxEventBytes {
			return errs.Invalid("body", "the event is %s; the limit is %s", kb(len(body)), kb(MaxEventBytes))
		}
		ev := build(single, typ, nil, time.Time{}, src.ID, now)
		if nul {
			scrubNUL(&ev)
		}
		if err := ev.Validate(); err != nil {
			return eventProblem(err, "", "the event")
		}
		evs = append(evs, ev)
	}
	evs, err = i.dropForgotten(r.Context(), evs)
	if err != nil {
		return err
	}
	return i.store(r.Context(), src.ID, evs, now)
}

// dropForgotten leaves out the events of erased people. They are acknowledged like the others,
// as Segment does for suppressed users: the sender has nothing to fix.
func (i *Ingest) dropForgotten(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	if i.forgot == nil || len(evs) == 0 {
		return evs, nil
	}
	var ids []dsr.Identifier
	seen := map[dsr.Identifier]bool{}
	for _, ev := range evs {
		for _, it := range []dsr.Identifier{{Type: "user_id", Value: ev.UserID}, {Type: "anonymous_id", Value: ev.AnonymousID}, {Type: "user_id", Value: ev.PreviousID}} {
			if it.Value != "" && !seen[it] {
				seen[it] = true
				ids = append(ids, it)
			}
		}
	}
	gone, err := i.forgot.Forgotten(ctx, ids)
	if err != nil || len(gone) == 0 {
		return evs, err
	}
	kept := evs[:0]
	for _, ev := range evs {
		if gone[dsr.Identifier{Type: "user_id", Value: ev.UserID}] || gone[dsr.Identifier{Type: "anonymous_id", Value: ev.AnonymousID}] ||
			gone[dsr.Identifier{Type: "user_id", Value: ev.PreviousID}] {
			continue
		}
		kept = append(kept, ev)
	}
	if n := len(evs) - len(kept); n > 0 {
		i.log.DebugContext(ctx, "dropped events of erased people", slog.Int("events", n))
	}
	return kept, nil
}

// readBody returns the decompressed body, refusing one over MaxBatchBytes.
func readBody(r *http.Request) ([]byte, error) {
	raw := &limited{r: r.Body, n: maxRawBytes}
	var in io.Reader = raw
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, errs.Invalid("body", "the body is not valid gzip: %v", err)
		}
		defer zr.Close()
		in = zr
	default:
		return nil, errs.Invalid("Content-Encoding", "content encoding %q is not supported; send gzip or none", enc)
	}
	body, err := io.ReadAll(io.LimitReader(in, MaxBatchBytes+1))
	if raw.over || len(body) > MaxBatchBytes {
		return nil, errs.Invalid("body", "the body is over %s decompressed; the limit is %s", kb(MaxBatchBytes), kb(MaxBatchBytes))
	}
	if err != nil {
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errs.Invalid("body", "the body is not valid gzip: %v", err)
		}
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return body, nil
}

// limited reads at most n bytes and notes whether there was more.
type limited struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			l.over = true
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

// build turns a wire call into an event: typ from the path (or the event, in a batch), the
// batch's context and sentAt under the event's own, the server's fields filled in.
func build(we wireEvent, typ string, batchCtx map[string]any, batchSentAt time.Time, sourceID string, now time.Time) event.Event {
	ev := event.Event{
		MessageID:   string(we.MessageID),
		Type:        typ,
		Event:       we.Event,
		Name:        we.Name,
		UserID:      string(we.UserID),
		AnonymousID: string(we.AnonymousID),
		GroupID:     string(we.GroupID),
		PreviousID:  string(we.PreviousID),
		Properties:  we.Properties,
		Traits:      we.Traits,
		Context:     we.Context,
		SentAt:      we.SentAt.time(),
		ReceivedAt:  now,
		Source:      event.SourceTracking,
	}
	if ev.MessageID == "" {
		ev.MessageID = id.New(now)
	}
	ev.OriginalTimestamp = we.OriginalTimestamp.time()
	if ev.OriginalTimestamp.IsZero() {
		ev.OriginalTimestamp = we.Timestamp.time()
	}
	if ev.SentAt.IsZero() {
		ev.SentAt = batchSentAt
	}
	ev.CorrectTimestamp()
	if ev.Context == nil {
		ev.Context = make(map[string]any, len(batchCtx)+1)
	}
	for k, v := range batchCtx {
		if _, ok := ev.Context[k]; !ok {
			ev.Context[k] = v
		}
	}
	ev.Context[ContextSourceID] = sourceID
	return ev
}

// scrubNUL replaces U+0000 with U+FFFD in every string of ev.
func scrubNUL(ev *event.Event) {
	for _, s := range []*string{&ev.MessageID, &ev.Event, &ev.Name, &ev.UserID, &ev.AnonymousID, &ev.GroupID, &ev.PreviousID} {
		*s = strings.ReplaceAll(*s, "\x00", "\uFFFD")
	}
	for _, m := range []map[string]any{ev.Properties, ev.Traits, ev.Context} {
		scrubMap(m)
	}
}

func scrubMap(m map[string]any) {
	for k, v := range m {
		if strings.Contains(k, "\x00") {
			delete(m, k)
			k = strings.ReplaceAll(k, "\x00", "\uFFFD")
		}
		m[k] = scrubValue(v)
	}
}

func scrubValue(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "\uFFFD")
	case map[string]any:
		scrubMap(x)
	case []any:
		for i := range x {
			x[i] = scrubValue(x[i])
		}
	}
	return v
}

// eventProblem names the event (and the field) at fault in a validation error.
func eventProblem(err error, at, which string) error {
	e, ok := errs.As(err)
	if !ok {
		return err
	}
	field := e.Field
	if at != "" {
		field = at + "." + e.Field
	}
	if strings.HasPrefix(e.Msg, e.Field) {
		return errs.Invalid(field, "%s: %s", which, e.Msg)
	}
	return errs.Invalid(field, "%s: %s %s", which, e.Field, e.Msg)
}

// jsonProblem says what is wrong with JSON without Go type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must not be a JSON %s", typ.Field, typ.Value)
		}
		return fmt.Sprintf("expected an object, not a JSON %s", typ.Value)
	default:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
}

// kb formats a size in whole kilobytes, rounding up so nothing over a limit reads as the limit.
func kb(n int) string { return fmt.Sprintf("%d KB", (n+1023)/1024) }
