// Package dm is direct messages: one private conversation per pair of members, members and staff
// alike. A message is stored as the Markdown its sender wrote; turning it into safe HTML is the
// edge's job.
package dm

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/backbone"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/event"
	"github.com/kizuna-community/kizuna/internal/id"
	"github.com/kizuna-community/kizuna/internal/notify"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the direct message tables.
func Migrations() db.Migrations {
	sub, _ := fs.Sub(migrationsFS, "migrations")
	return db.Migrations{Part: "dm", FS: sub}
}

// Limits of direct messages.
const (
	MaxBody      = 5000 // characters of one message, after trimming
	FloodLimit   = 20   // messages one sender may send per FloodWindow
	FloodWindow  = time.Minute
	DefaultLimit = 20
	MaxLimit     = 100
	excerptLen   = 100 // characters of the last message shown in the conversation list
)

// Deps are what the dm service needs.
type Deps struct {
	DB       *db.DB
	Outbox   *backbone.Outbox
	Accounts *accounts.Service
	Notify   *notify.Service
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service is the dm part.
type Service struct {
	db     *db.DB
	outbox *backbone.Outbox
	acc    *accounts.Service
	notify *notify.Service
	now    func() time.Time
}

// New returns the dm service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, outbox: d.Outbox, acc: d.Accounts, notify: d.Notify, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Conversation is one conversation as a participant sees it in their list.
type Conversation struct {
	ID          string
	Other       accounts.Member // the other party
	LastMessage string          // plain-text excerpt of the newest message (escape it to show it)
	LastAt      time.Time       // when the newest message was sent
	Unread      int             // messages from the other party the viewer has not read
}

// Message is one direct message.
type Message struct {
	ID             string
	ConversationID string
	SenderID       string
	Body           string // as written: Markdown source, not HTML
	CreatedAt      time.Time
}

// sender returns the member p acts for, or why p may not hold conversations. API keys act with an
// administrator's role but are no person who could read the reply, and a DM from "the API" would
// look to the recipient like one from a member; integrations get their own channel later.
func sender(p accounts.Principal) (string, error) {
	switch {
	case p.Anonymous():
		return "", errs.Unauthenticated("log in to send and read messages")
	case p.APIKeyID != "":
		return "", errs.Because(errs.Forbidden("API keys may not send or read direct messages"), "dm_api_key")
	case p.MemberID == "":
		return "", errs.Forbidden("only members may send and read direct messages")
	}
	return p.MemberID, nil
}

// pair orders two member ids into a conversation's key.
func pair(x, y string) (a, b string) {
	if x < y {
		return x, y
	}
	return y, x
}

// Send sends body from p's member to the member toMemberID. The message, its "Message Sent" event
// and the recipient's notification commit together. A sender may send FloodLimit messages per
// FloodWindow.
func (s *Service) Send(ctx context.Context, p accounts.Principal, toMemberID, body string) (Message, error) {
	from, err := sender(p)
	if err != nil {
		return Message{}, err
	}
	body = strings.TrimSpace(body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return Message{}, errs.Because(errs.Invalid("body", "write a message"), "dm_body_empty")
	case n > MaxBody:
		return Message{}, errs.Because(errs.Invalid("body", "a message may be at most %d characters", MaxBody), "dm_body_long", MaxBody)
	case !utf8.ValidString(body) || strings.ContainsRune(body, 0):
		return Message{}, errs.Invalid("body", "the message contains characters that cannot be stored")
	}
	if toMemberID == from {
		return Message{}, errs.Because(errs.Invalid("to", "you cannot send a message to yourself"), "dm_self")
	}
	to, err := s.acc.GetMember(ctx, toMemberID)
	if err != nil || to.Status != "active" {
		if err == nil || errs.KindOf(err) == errs.KindNotFound {
			return Message{}, errs.NotFound("no member with id %s", toMemberID)
		}
		return Message{}, err
	}
	now := s.now()
	m := Message{ID: id.New(now), SenderID: from, Body: body, CreatedAt: now.Truncate(time.Millisecond)}
	a, b := pair(from, to.ID)
	err = s.outbox.Tx(ctx, func(tx *sql.Tx) error {
		var recent int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM dm_messages WHERE sender_id = $1 AND created_at > $2`,
			from, db.Now(now.Add(-FloodWindow))).Scan(&recent); err != nil {
			return err
		}
		if recent >= FloodLimit {
			return errs.Because(errs.TooMany("you have sent %d messages in the last minute; wait a moment", FloodLimit), "dm_flood", FloodLimit)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dm_conversations (id, member_a, member_b, created_at, last_at)
			VALUES ($1, $2, $3, $4, $4) ON CONFLICT (member_a, member_b) DO NOTHING`, id.New(now), a, b, db.Now(now)); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM dm_conversations WHERE member_a = $1 AND member_b = $2`, a, b).Scan(&m.ConversationID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dm_members (conversation_id, member_id, other_id, last_at)
			VALUES ($1, $2, $3, $4), ($1, $3, $2, $4) ON CONFLICT (conversation_id, member_id) DO NOTHING`,
			m.ConversationID, from, to.ID, db.Now(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dm_messages (id, conversation_id, sender_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			m.ID, m.ConversationID, from, body, db.Now(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dm_conversations SET last_excerpt = $1, last_at = $2 WHERE id = $3`,
			Excerpt(body), db.Now(now), m.ConversationID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dm_members SET last_at = $1,
			unread = CASE WHEN member_id = $2 THEN unread + 1 ELSE unread END WHERE conversation_id = $3`,
			db.Now(now), to.ID, m.ConversationID); err != nil {
			return err
		}
		if err := s.notify.Add(ctx, tx, notify.Notification{MemberID: to.ID, Type: notify.TypeDM, ActorID: from,
			Title: Excerpt(body), URL: "/messages/" + m.ConversationID, CreatedAt: now}); err != nil {
			return err
		}
		ev := event.New(event.Track, "Message Sent", event.SourceCommunity, now)
		ev.UserID = from
		ev.Properties = map[string]any{"conversation_id": m.ConversationID, "message_id": m.ID,
			"recipient_id": to.ID, "from_staff": p.Role.Staff()}
		return s.outbox.Emit(ctx, tx, ev)
	})
	if err != nil {
		return Message{}, fmt.Errorf("sending message: %w", err)
	}
	return m, nil
}

// Conversations returns up to limit of p's conversations, the one with the newest message first.
func (s *Service) Conversations(ctx context.Context, p accounts.Principal, limit int) ([]Conversation, error) {
	me, err := sender(p)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, m.other_id, c.last_excerpt, c.last_at, m.unread
		FROM dm_members m JOIN dm_conversations c ON c.id = m.conversation_id
		WHERE m.member_id = $1 ORDER BY m.last_at DESC, c.id DESC LIMIT $2`, me, pageSize(limit))
	if err != nil {
		return nil, fmt.Errorf("listing conversations: %w", err)
	}
	var out []Conversation
	for rows.Next() {
		var c Conversation
		var at int64
		if err := rows.Scan(&c.ID, &c.Other.ID, &c.LastMessage, &at, &c.Unread); err != nil {
			rows.Close()
			return nil, err
		}
		c.LastAt = db.Time(at)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing conversations: %w", err)
	}
	// The other parties are read after the rows are closed: on SQLite each read takes a connection.
	for i := range out {
		m, err := s.acc.GetMember(ctx, out[i].Other.ID)
		if err != nil && errs.KindOf(err) != errs.KindNotFound {
			return nil, err
		}
		if err == nil {
			out[i].Other = m
		}
	}
	return out, nil
}

// Messages returns up to limit messages of the conversation older than the message before (the
// newest when ""), newest first, and the id to continue before, or "" at the end. Only the two
// participants may read a conversation; to anyone else it does not exist.
func (s *Service) Messages(ctx context.Context, p accounts.Principal, conversationID, before string, limit int) ([]Message, string, error) {
	me, err := sender(p)
	if err != nil {
		return nil, "", err
	}
	if err := s.participant(ctx, conversationID, me); err != nil {
		return nil, "", err
	}
	limit = pageSize(limit)
	q := `SELECT id, conversation_id, sender_id, body, created_at FROM dm_messages WHERE conversation_id = $1`
	args := []any{conversationID}
	if before != "" {
		q += ` AND id < $2`
		args = append(args, before)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)+1)
	rows, err := s.db.R.QueryContext(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("reading messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var at int64
		if err := rows.Scan(&m.ID, &m.ConversationID, &m.SenderID, &m.Body, &at); err != nil {
			return nil, "", err
		}
		m.CreatedAt = db.Time(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("reading messages: %w", err)
	}
	out, next := db.TrimPage(out, limit, func(m Message) string { return m.ID })
	return out, next, nil
}

// MarkRead marks every message of the conversation read for p.
func (s *Service) MarkRead(ctx context.Context, p accounts.Principal, conversationID string) error {
	me, err := sender(p)
	if err != nil {
		return err
	}
	res, err := s.db.W.ExecContext(ctx, `UPDATE dm_members SET unread = 0, read_at = $1 WHERE conversation_id = $2 AND member_id = $3`,
		db.Now(s.now()), conversationID, me)
	if err != nil {
		return fmt.Errorf("marking conversation read: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(conversationID)
	}
	return nil
}

// UnreadTotal returns how many messages p has not read, over all conversations.
func (s *Service) UnreadTotal(ctx context.Context, p accounts.Principal) (int, error) {
	me, err := sender(p)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.db.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(unread), 0) FROM dm_members WHERE member_id = $1`, me).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting unread messages: %w", err)
	}
	return n, nil
}

func (s *Service) participant(ctx context.Context, conversationID, memberID string) error {
	var one int
	err := s.db.R.QueryRowContext(ctx, `SELECT 1 FROM dm_members WHERE conversation_id = $1 AND member_id = $2`,
		conversationID, memberID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(conversationID)
	}
	return err
}

func notFound(conversationID string) error {
	return errs.NotFound("no conversation with id %s", conversationID)
}

func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

// Excerpt returns the start of a Markdown message as one line of plain text: white space
// collapsed, the commonest markup (emphasis stars, code ticks, headings, quotes, link targets)
// dropped, cut to about 100 characters. It is text, not HTML.
func Excerpt(markdown string) string {
	s := markdown
	// [text](url) and ![alt](url) keep only their text.
	for from := 0; ; {
		rel := strings.Index(s[from:], "](")
		if rel < 0 {
			break
		}
		open := from + rel
		start := strings.LastIndex(s[:open], "[")
		end := strings.IndexByte(s[open:], ')')
		if start < from || end < 0 {
			from = open + 2
			continue
		}
		text := s[start+1 : open]
		if start > 0 && s[start-1] == '!' {
			start--
		}
		s = s[:start] + text + s[open+end+1:]
		from = start + len(text)
	}
	var b strings.Builder
	space := false
	lineStart := true
	for _, r := range s {
		switch {
		case r == '\n':
			space, lineStart = true, true
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		case r == '*' || r == '`':
			continue
		case lineStart && strings.ContainsRune("#>", r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space, lineStart = false, false
		b.WriteRune(r)
	}
	out := []rune(b.String())
	if len(out) > excerptLen {
		return strings.TrimSpace(string(out[:excerptLen-1])) + "…"
	}
	return string(out)
}
