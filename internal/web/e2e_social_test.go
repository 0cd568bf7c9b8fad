package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/accounts/social/socialtest"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/testkit/e2e"
)

// TestBrowserSocialSignUp drives headless Chromium through social sign-up: the log-in and
// sign-up pages show the providers, "Google で登録" goes to a real OIDC provider on loopback and
// back to the permission screen, the member opts in to email offers and signs up, then links LINE
// (a LINE Login peer, HS256 ID tokens) from the linked-accounts page and opts in to LINE messages;
// an administrator sets up Facebook. KIZUNA_SCREENSHOTS=DIR writes its PNGs.
func TestBrowserSocialSignUp(t *testing.T) {
	br := e2e.Need(t)
	s := newSocialSite(t, db.SQLite, false)
	// The providers' profile pictures, from an https host as the real ones are (the browser is
	// told to accept this test certificate).
	pics := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(avatarPNG(r.URL.Path == "/line.png"))
	}))
	defer pics.Close()
	s.op.Queue(socialtest.Person{Subject: "108234567890123456789", Name: "山田 花子", Email: "hanako.yamada@kizuna-mail.jp", EmailVerified: true, Picture: pics.URL + "/google.png"})
	uid := socialtest.LINEUserID("hanako")
	s.line.Queue(socialtest.Person{Subject: uid, Name: "はなこ🌸", Picture: pics.URL + "/line.png"})

	token, err := s.acc.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	br.Run(t, 120*time.Second, filepath.Join("e2e", "social.mjs"), s.URL, "/setup?token="+token)

	// What the browser did, as accounts sees it.
	ctx := context.Background()
	id := s.memberID("hanako.yamada@kizuna-mail.jp")
	m, err := s.acc.GetMember(ctx, id)
	if err != nil || !m.EmailVerified || m.DisplayName != "山田 花子" {
		t.Fatalf("member %+v, %v", m, err)
	}
	ids, err := s.acc.SocialIdentities(ctx, id)
	if err != nil || len(ids) != 2 || ids[0].Provider != "google" || ids[1].Provider != "line" || ids[1].Subject != uid {
		t.Fatalf("identities %+v, %v", ids, err)
	}
	calls := s.consents.calls()
	var got [][]accounts.ConsentChoice
	for _, c := range calls {
		got = append(got, c.Choices)
	}
	want := [][]accounts.ConsentChoice{
		{{Channel: "email", Purpose: "marketing", OptedIn: true}, {Channel: "email", Purpose: "product_news", OptedIn: false}},
		{{Channel: "line", Purpose: "marketing", OptedIn: true}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("consent choices (-want +got):\n%s", diff)
	}
	ps, err := s.acc.EnabledLoginProviders(ctx)
	if err != nil || len(ps) != 4 || ps[2].Key != "facebook" || ps[2].ClientID != "1029384756" {
		t.Fatalf("providers after the admin's change: %+v, %v", ps, err)
	}
}

// avatarPNG draws a round gradient avatar: a rose one for LINE, an indigo one for Google.
func avatarPNG(rose bool) []byte {
	const n = 96
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	from, to := color.RGBA{99, 102, 241, 255}, color.RGBA{20, 184, 166, 255}
	if rose {
		from, to = color.RGBA{244, 114, 182, 255}, color.RGBA{251, 191, 36, 255}
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			f := float64(x+y) / (2 * n)
			c := color.RGBA{uint8(float64(from.R)*(1-f) + float64(to.R)*f), uint8(float64(from.G)*(1-f) + float64(to.G)*f),
				uint8(float64(from.B)*(1-f) + float64(to.B)*f), 255}
			// A head and shoulders in white.
			dx, dy := float64(x-n/2), float64(y)
			if math.Hypot(dx, dy-38) < 17 || (y > 62 && math.Hypot(dx, dy-100) < 38) {
				c = color.RGBA{255, 255, 255, 235}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
