package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/id"
)

// AuditEntry is one recorded action: who did what to what, and when.
type AuditEntry struct {
	ID        string         `json:"id"`
	At        time.Time      `json:"at"`
	ActorKind string         `json:"actor_kind"` // member, api_key or system
	ActorID   string         `json:"actor_id"`
	Action    string         `json:"action"` // object.verb_past, e.g. api_key.revoked
	Target    string         `json:"target"`
	Details   map[string]any `json:"details"`
}

// Audit records an action inside tx, so the record commits with the change or not at all.
// Parts call it for every change an auditor would ask about.
func (s *Service) Audit(ctx context.Context, tx *sql.Tx, p Principal, action, target string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	now := s.now()
	kind, actor := p.actor()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_kind, actor_id, action, target, details) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id.New(now), db.Now(now), kind, actor, action, target, string(b))
	return err
}

// ListAudit returns up to limit entries older than the entry id before (all when empty), newest
// first, and the id to continue from, or "" at the end. Needs PermViewAudit.
func (s *Service) ListAudit(ctx context.Context, p Principal, before string, limit int) ([]AuditEntry, string, error) {
	if err := Authorize(p, PermViewAudit); err != nil {
		return nil, "", err
	}
	q := `SELECT id, at, actor_kind, actor_id, action, target, details FROM audit_log `
	args := []any{limit + 1}
	if before != "" {
		q += `WHERE id < $2 `
		args = append(args, before)
	}
	rows, err := s.db.R.QueryContext(ctx, q+`ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.ActorKind, &e.ActorID, &e.Action, &e.Target, &details); err != nil {
			return nil, "", err
		}
		e.At = db.Time(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := db.TrimPage(out, limit, func(e AuditEntry) string { return e.ID })
	return out, next, nil
}
