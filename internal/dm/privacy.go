package dm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
)

var _ dsr.Part = (*Service)(nil)

// messageExport is one message of a conversation the subject took part in.
type messageExport struct {
	ConversationID string    `json:"conversation_id"`
	MessageID      string    `json:"message_id"`
	SenderID       string    `json:"sender_id"`
	RecipientID    string    `json:"recipient_id"`
	Sent           bool      `json:"sent"` // the subject wrote it
	Body           string    `json:"body"`
	CreatedAt      time.Time `json:"created_at"`
}

// ExportSubject returns every message of the subject's conversations, sent and received.
func (s *Service) ExportSubject(ctx context.Context, sub dsr.Subject) ([]dsr.Table, error) {
	if len(sub.MemberIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(sub.MemberIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT m.conversation_id, m.id, m.sender_id, dm.member_id, dm.other_id, m.body, m.created_at
		FROM dm_messages m JOIN dm_members dm ON dm.conversation_id = m.conversation_id
		WHERE dm.member_id `+in+` ORDER BY m.conversation_id, m.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting messages: %w", err)
	}
	defer rows.Close()
	out := []messageExport{}
	for rows.Next() {
		var e messageExport
		var me, other string
		var at int64
		if err := rows.Scan(&e.ConversationID, &e.MessageID, &e.SenderID, &me, &other, &e.Body, &at); err != nil {
			return nil, err
		}
		e.Sent, e.CreatedAt = e.SenderID == me, db.Time(at)
		e.RecipientID = other
		if !e.Sent {
			e.RecipientID = me
		}
		out = append(out, e)
	}
	return []dsr.Table{{Name: "direct_messages", Rows: out}}, rows.Err()
}

// EraseSubject deletes the messages the subject sent and their side of every conversation. The
// other person keeps what they wrote, in a conversation with the tombstone (a former member, to
// whom nothing can be sent); a conversation left without messages goes entirely.
func (s *Service) EraseSubject(ctx context.Context, tx *sql.Tx, e dsr.Erasure) error {
	for _, m := range e.MemberIDs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dm_messages WHERE sender_id = $1`, m); err != nil {
			return fmt.Errorf("erasing messages: %w", err)
		}
		convs, err := s.conversationsOf(ctx, tx, m)
		if err != nil {
			return err
		}
		for _, c := range convs {
			if err := s.eraseSide(ctx, tx, c, m, e.Tombstone); err != nil {
				return err
			}
		}
	}
	return nil
}

type conversationSides struct{ id, a, b string }

func (s *Service) conversationsOf(ctx context.Context, tx *sql.Tx, memberID string) ([]conversationSides, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, member_a, member_b FROM dm_conversations WHERE member_a = $1 OR member_b = $1`, memberID)
	if err != nil {
		return nil, fmt.Errorf("erasing conversations: %w", err)
	}
	defer rows.Close()
	var out []conversationSides
	for rows.Next() {
		var c conversationSides
		if err := rows.Scan(&c.id, &c.a, &c.b); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// eraseSide takes member out of conversation c, leaving the tombstone in their place.
func (s *Service) eraseSide(ctx context.Context, tx *sql.Tx, c conversationSides, member, tombstone string) error {
	other := c.a
	if other == member {
		other = c.b
	}
	var lastBody string
	var lastAt int64
	err := tx.QueryRowContext(ctx, `SELECT body, created_at FROM dm_messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1`, c.id).
		Scan(&lastBody, &lastAt)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `DELETE FROM dm_conversations WHERE id = $1`, c.id)
		return err
	}
	if err != nil {
		return err
	}
	a, b := pair(tombstone, other)
	var taken int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM dm_conversations WHERE member_a = $1 AND member_b = $2`, a, b).Scan(&taken); err != nil {
		return err
	}
	if taken > 0 || other == tombstone {
		// The tombstone talks with this person already (a second account of the same person):
		// this conversation goes, the other one stays.
		_, err = tx.ExecContext(ctx, `DELETE FROM dm_conversations WHERE id = $1`, c.id)
		return err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE dm_conversations SET member_a = $1, member_b = $2, last_excerpt = $3, last_at = $4 WHERE id = $5`, []any{a, b, Excerpt(lastBody), lastAt, c.id}},
		{`DELETE FROM dm_members WHERE conversation_id = $1 AND member_id = $2`, []any{c.id, member}},
		// What stays are the other person's own messages: nothing unread is left for them.
		{`UPDATE dm_members SET other_id = $1, unread = 0 WHERE conversation_id = $2 AND member_id = $3`, []any{tombstone, c.id, other}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("erasing conversation %s: %w", c.id, err)
		}
	}
	return nil
}
