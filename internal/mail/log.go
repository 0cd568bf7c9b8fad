package mail

import (
	"context"
	"log/slog"
	"sync"
)

// logKeep is how many messages a Log remembers for Sent.
const logKeep = 100

// Log is the Sender used when no SMTP server is configured: it writes each message, body and all,
// to the log so a developer can follow a verification or reset link, and remembers the last few.
type Log struct {
	log  *slog.Logger
	mu   sync.Mutex
	sent []Message
}

var _ Sender = (*Log)(nil)

// NewLog returns a Sender that logs messages instead of delivering them.
func NewLog(log *slog.Logger) *Log {
	if log == nil {
		log = slog.Default()
	}
	return &Log{log: log}
}

// Send logs m at INFO, including its full text body, and keeps it for Sent.
func (l *Log) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.log.InfoContext(ctx, "mail not sent: no SMTP server configured",
		slog.String("to", m.To), slog.String("subject", m.Subject), slog.String("text", m.Text))
	m.Headers = cloneHeaders(m.Headers)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sent) == logKeep {
		copy(l.sent, l.sent[1:])
		l.sent = l.sent[:logKeep-1]
	}
	l.sent = append(l.sent, m)
	return nil
}

// Sent returns a copy of the last messages sent, oldest first, at most 100.
func (l *Log) Sent() []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Message, len(l.sent))
	for i, m := range l.sent {
		m.Headers = cloneHeaders(m.Headers)
		out[i] = m
	}
	return out
}

func cloneHeaders(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	c := make(map[string]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}
