package social

import (
	"crypto/subtle"
	"encoding/json"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// lineClaims are the claims of a LINE Login ID token (developers.line.biz, "Verify ID token").
type lineClaims struct {
	Iss     string   `json:"iss"`
	Sub     string   `json:"sub"`
	Aud     audience `json:"aud"`
	Exp     int64    `json:"exp"`
	Iat     int64    `json:"iat"`
	Nonce   string   `json:"nonce"`
	Name    string   `json:"name"`
	Picture string   `json:"picture"`
	Email   string   `json:"email"`
}

// audience is a JWT aud: one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

func (a audience) has(s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// verifyLINE checks a LINE Login web ID token: HS256 signed with the channel secret (the only
// algorithm accepted, so a token cannot downgrade itself to "none" or switch to a public-key
// algorithm), issuer https://access.line.me, audience the channel ID, not expired, and the
// request's nonce. LINE asserts nothing about the email address, so it counts as unverified.
func (c *Client) verifyLINE(cfg Config, raw, nonce string) (Identity, error) {
	if raw == "" {
		return Identity{}, fail(nil, "LINE token response without an id_token (was the openid scope granted?)")
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return Identity{}, fail(err, "parsing the LINE ID token")
	}
	payload, err := jws.Verify([]byte(cfg.ClientSecret))
	if err != nil {
		return Identity{}, fail(err, "LINE ID token signature does not match the channel secret")
	}
	var cl lineClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return Identity{}, fail(err, "reading the LINE ID token's claims")
	}
	now := c.now()
	switch {
	case cl.Iss != LINEIssuer:
		return Identity{}, fail(nil, "LINE ID token issuer is %q, not %s", cl.Iss, LINEIssuer)
	case !cl.Aud.has(cfg.ClientID):
		return Identity{}, fail(nil, "LINE ID token is for channel %v, not %s", []string(cl.Aud), cfg.ClientID)
	case cl.Exp == 0 || !now.Before(time.Unix(cl.Exp, 0)):
		return Identity{}, fail(nil, "LINE ID token expired at %s", time.Unix(cl.Exp, 0).UTC().Format(time.RFC3339))
	case cl.Nonce == "" || subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(nonce)) != 1:
		return Identity{}, fail(nil, "LINE ID token nonce does not match the request")
	}
	return Identity{Subject: cl.Sub, Name: cl.Name, Email: cl.Email, Picture: cl.Picture}, nil
}
