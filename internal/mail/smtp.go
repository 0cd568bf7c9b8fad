package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/id"
)

// The TLS modes of SMTPConfig.TLS.
const (
	TLSOpportunistic = ""         // STARTTLS when the server offers it, plain otherwise
	TLSStartTLS      = "starttls" // STARTTLS required
	TLSImplicit      = "tls"      // TLS from the first byte, port 465 style
	TLSNone          = "none"     // plain text, for loopback tests and local relays
)

// sendAttempts bounds delivery tries for transient failures.
const sendAttempts = 3

// SMTPConfig says how to reach the outgoing mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	From     string // envelope and header sender, "Kizuna <no-reply@example.com>"
	TLS      string // one of TLSOpportunistic, TLSStartTLS, TLSImplicit, TLSNone
}

// SMTP delivers messages through an SMTP server with github.com/wneessen/go-mail.
type SMTP struct {
	cfg     SMTPConfig
	from    *netmail.Address
	log     *slog.Logger
	timeout time.Duration // per attempt, for dial and each command
	backoff time.Duration // before the second attempt; doubles after
	tlsConf *tls.Config   // nil: verify against Host with the system roots
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns a Sender that delivers through that server. It does not connect.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTP, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg.Host = strings.TrimSpace(cfg.Host)
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " /:") {
		return nil, errs.Invalid("smtp_host", "must be a host name or IP address")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, errs.Invalid("smtp_port", "must be between 1 and 65535")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, errs.Invalid("smtp_from", "must be an email address")
	}
	switch cfg.TLS {
	case TLSOpportunistic, TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, errs.Invalid("smtp_tls", "must be one of starttls, tls, none or empty")
	}
	return &SMTP{cfg: cfg, from: from, log: log, timeout: 30 * time.Second, backoff: 500 * time.Millisecond}, nil
}

// Send delivers m, trying again after connection errors and 4xx replies (at most three attempts)
// but never after a permanent 5xx reply.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	msgID := strings.Trim(firstHeader(msg, gomail.HeaderMessageID), "<>")
	wait := s.backoff
	for attempt := 1; ; attempt++ {
		err = s.attempt(ctx, msg)
		if err == nil {
			s.log.InfoContext(ctx, "mail sent", slog.String("to", m.To), slog.String("message_id", msgID),
				slog.Int("attempts", attempt))
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sending mail to %s: %w", m.To, errors.Join(ctx.Err(), err))
		}
		if !transient(err) || attempt == sendAttempts {
			return fmt.Errorf("sending mail to %s (attempt %d): %w", m.To, attempt, err)
		}
		s.log.WarnContext(ctx, "mail send failed, retrying", slog.String("to", m.To),
			slog.Int("attempt", attempt), slog.Any("err", err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sending mail to %s: %w", m.To, errors.Join(ctx.Err(), err))
		case <-t.C:
		}
		wait *= 2
	}
}

// build turns m into a go-mail message: multipart/alternative when there is HTML, UTF-8,
// quoted-printable, with our own Message-ID so retries carry the same one.
func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, errs.Invalid("to", "must be an email address")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errs.Invalid("subject", "must be one line")
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	now := time.Now()
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(strings.ToLower(id.New(now)) + "@" + domainOf(s.from.Address))
	for k, v := range m.Headers {
		if err := checkHeader(k, v); err != nil {
			return nil, err
		}
		msg.SetGenHeader(gomail.Header(textproto.CanonicalMIMEHeaderKey(k)), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// reservedHeaders are set by build; a caller overriding them would produce a malformed message.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Subject": true, "Date": true,
	"Message-Id": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
	"Sender": true,
}

func checkHeader(k, v string) error {
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r >= 127 || r == ':' }) >= 0 {
		return errs.Invalid("headers", "header name %q is not valid", k)
	}
	if reservedHeaders[textproto.CanonicalMIMEHeaderKey(k)] {
		return errs.Invalid("headers", "header %s is set by the mailer", k)
	}
	if strings.ContainsAny(v, "\r\n") {
		return errs.Invalid("headers", "header %s must be one line", k)
	}
	return nil
}

// attempt makes one connection and delivers msg over it.
func (s *SMTP) attempt(ctx context.Context, msg *gomail.Msg) error {
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(timeout)}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.tlsConf != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConf))
	}
	if s.cfg.Username != "" {
		// PLAIN and LOGIN refuse to send the password over plain text except to localhost.
		opts = append(opts, gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256PLUS, gomail.SMTPAuthSCRAMSHA256,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	// A client per attempt: go-mail's Client keeps per-connection auth state.
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("configuring smtp client: %w", err)
	}
	return c.DialAndSendWithContext(ctx, msg)
}

// transient reports whether err is worth another attempt: a 4xx reply or a broken connection.
func transient(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code != 0 {
			return code >= 400 && code < 500
		}
		if se.IsTemp() {
			return true
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		(se != nil && se.Reason == gomail.ErrWriteContent)
}

func firstHeader(msg *gomail.Msg, h gomail.Header) string {
	if v := msg.GetGenHeader(h); len(v) > 0 {
		return v[0]
	}
	return ""
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}
