package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// smtpPeer is a real SMTP server on loopback that records what it receives.
type smtpPeer struct {
	addr           string
	user, pass     string
	mu             sync.Mutex
	mails          int      // MAIL commands seen, one per delivery attempt
	rcptFailures   []error  // returned, in order, by the first RCPT commands
	authedAs       []string // usernames that authenticated
	received       [][]byte
	receivedRcpts  []string
	receivedSender string
}

func startPeer(t *testing.T, user, pass string) *smtpPeer {
	t.Helper()
	p := &smtpPeer{user: user, pass: pass}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &peerSession{p: p}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *smtpPeer) config(t *testing.T) SMTPConfig {
	host, port, _ := net.SplitHostPort(p.addr)
	var n int
	for _, c := range port {
		n = n*10 + int(c-'0')
	}
	return SMTPConfig{Host: host, Port: n, Username: p.user, Password: p.pass,
		From: "Kizuna <no-reply@kizuna.example>", TLS: TLSNone}
}

type peerSession struct {
	p      *smtpPeer
	authed bool
	from   string
	rcpts  []string
}

func (s *peerSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *peerSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.p.user || password != s.p.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		s.p.mu.Lock()
		s.p.authedAs = append(s.p.authedAs, username)
		s.p.mu.Unlock()
		return nil
	}), nil
}

func (s *peerSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.p.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.p.mu.Lock()
	s.p.mails++
	s.p.mu.Unlock()
	s.from = from
	return nil
}

func (s *peerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if len(s.p.rcptFailures) > 0 {
		err := s.p.rcptFailures[0]
		s.p.rcptFailures = s.p.rcptFailures[1:]
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.received = append(s.p.received, b)
	s.p.receivedRcpts = append(s.p.receivedRcpts, s.rcpts...)
	s.p.receivedSender = s.from
	return nil
}

func (s *peerSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *peerSession) Logout() error { return nil }

func newTestSMTP(t *testing.T, cfg SMTPConfig) *SMTP {
	t.Helper()
	s, err := NewSMTP(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.timeout = 5 * time.Second
	s.backoff = 10 * time.Millisecond
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSMTPSendsJapaneseMultipart(t *testing.T) {
	p := startPeer(t, "kizuna", "s3cret")
	s := newTestSMTP(t, p.config(t))
	const (
		subject = "【キズナ】メールアドレスの確認をお願いします"
		text    = "こんにちは、山田さん。\n次のリンクを開いてください: https://kizuna.example/verify?token=abc\n"
		html    = "<p>こんにちは、<b>山田</b>さん。</p>"
	)
	err := s.Send(testCtx(t), Message{To: "山田 太郎 <taro@example.jp>", Subject: subject, Text: text, HTML: html,
		Headers: map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.received) != 1 || len(p.authedAs) != 1 || p.authedAs[0] != "kizuna" {
		t.Fatalf("received %d messages, authed as %v", len(p.received), p.authedAs)
	}
	if p.receivedSender != "no-reply@kizuna.example" || len(p.receivedRcpts) != 1 || p.receivedRcpts[0] != "taro@example.jp" {
		t.Fatalf("envelope from %q to %v", p.receivedSender, p.receivedRcpts)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(p.received[0]))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
		t.Fatalf("subject = %q, %v", got, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "山田 太郎" || to[0].Address != "taro@example.jp" {
		t.Fatalf("To = %v, %v", to, err)
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@kizuna.example>") {
		t.Fatalf("Message-ID = %q", id)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Fatalf("extra header = %q", got)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, %v", mt, err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable transparently
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if !strings.EqualFold(pp["charset"], "utf-8") {
			t.Fatalf("%s charset = %q", pt, pp["charset"])
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		parts[pt] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if parts["text/plain"] != text || parts["text/html"] != html {
		t.Fatalf("parts = %q", parts)
	}
}

func TestSMTPRetriesTemporaryFailure(t *testing.T) {
	p := startPeer(t, "", "")
	p.rcptFailures = []error{&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}}
	s := newTestSMTP(t, p.config(t))
	if err := s.Send(testCtx(t), Message{To: "a@example.jp", Subject: "再送", Text: "本文"}); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mails != 2 || len(p.received) != 1 {
		t.Fatalf("attempts = %d, delivered = %d; want 2 and 1", p.mails, len(p.received))
	}
}

func TestSMTPDoesNotRetryPermanentFailure(t *testing.T) {
	p := startPeer(t, "", "")
	p.rcptFailures = []error{&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}
	s := newTestSMTP(t, p.config(t))
	err := s.Send(testCtx(t), Message{To: "nobody@example.jp", Subject: "x", Text: "y"})
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("err = %v, want a 550 error", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mails != 1 || len(p.received) != 0 {
		t.Fatalf("attempts = %d, delivered = %d; want 1 and 0", p.mails, len(p.received))
	}
}

func TestSMTPWrongPasswordFailsWithoutLeakingIt(t *testing.T) {
	p := startPeer(t, "kizuna", "right")
	cfg := p.config(t)
	cfg.Password = "wrong-password-value"
	s := newTestSMTP(t, cfg)
	err := s.Send(testCtx(t), Message{To: "a@example.jp", Subject: "x", Text: "y"})
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("err = %v, want a 535 error", err)
	}
	if strings.Contains(err.Error(), cfg.Password) {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestSMTPRetriesRefusedConnectionThenGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens now: connections are refused
	s := newTestSMTP(t, SMTPConfig{Host: "127.0.0.1", Port: port, From: "a@kizuna.example", TLS: TLSNone})
	err = s.Send(testCtx(t), Message{To: "b@example.jp", Subject: "x", Text: "y"})
	if err == nil || !strings.Contains(err.Error(), "attempt 3") {
		t.Fatalf("err = %v, want failure after 3 attempts", err)
	}
}

func TestSMTPHonoursCancelledContext(t *testing.T) {
	s := newTestSMTP(t, SMTPConfig{Host: "127.0.0.1", Port: 1, From: "a@kizuna.example", TLS: TLSNone})
	s.backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, Message{To: "b@example.jp", Subject: "x", Text: "y"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestNewSMTPNamesBadField(t *testing.T) {
	good := SMTPConfig{Host: "smtp.example.jp", Port: 587, From: "no-reply@example.jp", TLS: TLSStartTLS}
	for _, tc := range []struct {
		field string
		edit  func(*SMTPConfig)
	}{
		{"smtp_host", func(c *SMTPConfig) { c.Host = "" }},
		{"smtp_host", func(c *SMTPConfig) { c.Host = "smtp.example.jp:587" }},
		{"smtp_port", func(c *SMTPConfig) { c.Port = 0 }},
		{"smtp_port", func(c *SMTPConfig) { c.Port = 70000 }},
		{"smtp_from", func(c *SMTPConfig) { c.From = "not an address" }},
		{"smtp_from", func(c *SMTPConfig) { c.From = "" }},
		{"smtp_tls", func(c *SMTPConfig) { c.TLS = "ssl" }},
	} {
		cfg := good
		tc.edit(&cfg)
		_, err := NewSMTP(cfg, nil)
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.KindInvalid || e.Field != tc.field {
			t.Errorf("%+v: err = %v, want invalid %s", cfg, err, tc.field)
		}
	}
	for _, mode := range []string{TLSOpportunistic, TLSStartTLS, TLSImplicit, TLSNone} {
		cfg := good
		cfg.TLS = mode
		if _, err := NewSMTP(cfg, nil); err != nil {
			t.Errorf("TLS %q: %v", mode, err)
		}
	}
}

func TestSMTPRejectsBadMessage(t *testing.T) {
	s := newTestSMTP(t, SMTPConfig{Host: "127.0.0.1", Port: 25, From: "a@kizuna.example", TLS: TLSNone})
	for _, tc := range []struct {
		field string
		m     Message
	}{
		{"to", Message{To: "nope", Subject: "x"}},
		{"subject", Message{To: "a@example.jp", Subject: "x\r\nBcc: evil@example.com"}},
		{"headers", Message{To: "a@example.jp", Headers: map[string]string{"From": "evil@example.com"}}},
		{"headers", Message{To: "a@example.jp", Headers: map[string]string{"X-A": "b\r\nBcc: evil@example.com"}}},
	} {
		err := s.Send(testCtx(t), tc.m)
		if e, ok := errs.As(err); !ok || e.Field != tc.field {
			t.Errorf("%+v: err = %v, want invalid %s", tc.m, err, tc.field)
		}
	}
}
