package social

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// getJSON reads url with the access token into v.
func (c *Client) getJSON(ctx context.Context, u string, tok *oauth2.Token, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: %.200s", u, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// facebookProfile reads the person from the Graph API's /me, with appsecret_proof as Facebook
// recommends for calls from a server. Facebook asserts nothing about the address's verification.
func (c *Client) facebookProfile(ctx context.Context, cfg Config, tok *oauth2.Token) (Identity, error) {
	base := facebookMeURL
	if cfg.ProfileURL != "" {
		base = cfg.ProfileURL
	}
	mac := hmac.New(sha256.New, []byte(cfg.ClientSecret))
	mac.Write([]byte(tok.AccessToken))
	q := url.Values{"fields": {"id,name,email,picture.type(large)"}, "appsecret_proof": {hex.EncodeToString(mac.Sum(nil))}}
	var me struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Email   string `json:"email"`
		Picture struct {
			Data struct {
				URL          string `json:"url"`
				IsSilhouette bool   `json:"is_silhouette"`
			} `json:"data"`
		} `json:"picture"`
	}
	if err := c.getJSON(ctx, base+"?"+q.Encode(), tok, &me); err != nil {
		return Identity{}, fail(err, "reading the Facebook profile")
	}
	id := Identity{Subject: me.ID, Name: me.Name, Email: me.Email}
	if !me.Picture.Data.IsSilhouette {
		id.Picture = me.Picture.Data.URL
	}
	return id, nil
}

// xProfile reads the person from X API v2's /2/users/me. X gives no email address here.
func (c *Client) xProfile(ctx context.Context, cfg Config, tok *oauth2.Token) (Identity, error) {
	base := xMeURL
	if cfg.ProfileURL != "" {
		base = cfg.ProfileURL
	}
	var me struct {
		Data struct {
			ID              string `json:"id"`
			Name            string `json:"name"`
			Username        string `json:"username"`
			ProfileImageURL string `json:"profile_image_url"`
		} `json:"data"`
	}
	if err := c.getJSON(ctx, base+"?user.fields=profile_image_url", tok, &me); err != nil {
		return Identity{}, fail(err, "reading the X profile")
	}
	return Identity{Subject: me.Data.ID, Name: me.Data.Name, Username: me.Data.Username, Picture: me.Data.ProfileImageURL}, nil
}
