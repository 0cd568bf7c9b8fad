// Package mail sends transactional and marketing email: an SMTP sender for production and a log
// sender for development. It is domain-side code and knows nothing of HTTP or templates; callers
// pass the rendered text and HTML.
package mail

import "context"

// Message is one rendered email to one recipient.
type Message struct {
	To      string            // one address, "a@example.com" or "Name <a@example.com>"
	Subject string            // UTF-8; encoded on the wire as needed
	Text    string            // plain-text body, always sent
	HTML    string            // optional HTML alternative
	Headers map[string]string // extra headers such as List-Unsubscribe (RFC 8058)
}

// Sender delivers a Message or reports why it could not.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
