// Package accountmail writes the account emails (address verification, password reset) in the
// member's language and hands them to a mail sender. It implements accounts.Notifier.
package accountmail

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/mail"
)

// Mailer sends account emails through Sender, with links under BaseURL.
type Mailer struct {
	Sender    mail.Sender
	BaseURL   string
	Community string // the community's name in subjects and greetings
}

var _ accounts.Notifier = (*Mailer)(nil)

// text is one email in one language; %[1]s is the member's name, %[2]s the link, %[3]s the
// community's name.
type text struct{ subject, body string }

var verification = map[string]text{
	"ja": {
		subject: "【%[3]s】メールアドレスの確認",
		body: `%[1]s さん

%[3]s へのご登録ありがとうございます。
下のリンクを開いて、メールアドレスの確認を完了してください（48時間有効）。

%[2]s

お心当たりのない場合は、このメールを破棄してください。
`,
	},
	"en": {
		subject: "[%[3]s] Confirm your email address",
		body: `Hi %[1]s,

Thanks for joining %[3]s.
Open the link below to confirm your email address (valid for 48 hours).

%[2]s

If you did not sign up, you can ignore this email.
`,
	},
}

var reset = map[string]text{
	"ja": {
		subject: "【%[3]s】パスワードの再設定",
		body: `%[1]s さん

パスワード再設定のリクエストを受け付けました。
下のリンクから新しいパスワードを設定してください（1時間有効）。

%[2]s

お心当たりのない場合は、このメールを破棄してください。パスワードは変更されません。
`,
	},
	"en": {
		subject: "[%[3]s] Reset your password",
		body: `Hi %[1]s,

We received a request to reset your password.
Open the link below to choose a new one (valid for 1 hour).

%[2]s

If you did not ask for this, ignore this email; your password stays the same.
`,
	},
}

// VerificationEmail sends the link that confirms m's address.
func (m *Mailer) VerificationEmail(ctx context.Context, member accounts.Member, token string) error {
	return m.send(ctx, member, verification, "/verify-email?token="+url.QueryEscape(token))
}

// PasswordResetEmail sends the link that sets a new password.
func (m *Mailer) PasswordResetEmail(ctx context.Context, member accounts.Member, token string) error {
	return m.send(ctx, member, reset, "/reset-password?token="+url.QueryEscape(token))
}

func (m *Mailer) send(ctx context.Context, member accounts.Member, texts map[string]text, path string) error {
	t, ok := texts[member.Locale]
	if !ok {
		t = texts["en"]
	}
	community := m.Community
	if community == "" {
		community = "Kizuna"
	}
	link := strings.TrimSuffix(m.BaseURL, "/") + path
	return m.Sender.Send(ctx, mail.Message{
		To:      member.Email,
		Subject: fmt.Sprintf(t.subject, member.DisplayName, link, community),
		Text:    fmt.Sprintf(t.body, member.DisplayName, link, community),
	})
}
