package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/github"
)

// GitHubConfig is a GitHub OAuth app.
type GitHubConfig struct {
	ClientID     string
	ClientSecret string
	// BaseURL is GitHub's web address, where people approve the app: ""
	// for github.com, or a GitHub Enterprise Server's address.
	BaseURL string
	// APIURL is GitHub's REST API: "" for api.github.com, or BaseURL +
	// "/api/v3" when BaseURL is set.
	APIURL string
	// HTTP talks to GitHub (nil: a client with a 15 s timeout).
	HTTP *http.Client
}

// GitHub is sign-in with GitHub: an OAuth app's authorization (with
// PKCE), then GET /user for the numeric user ID (the identity's subject,
// under provider "github") and GET /user/emails for the primary address,
// which counts as verified only when GitHub says so.
func GitHub(c GitHubConfig) Flow {
	end := github.Endpoint
	if c.BaseURL != "" {
		base := strings.TrimSuffix(c.BaseURL, "/")
		end = oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token"}
		if c.APIURL == "" {
			c.APIURL = base + "/api/v3"
		}
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com"
	}
	c.APIURL = strings.TrimSuffix(c.APIURL, "/")
	end.AuthStyle = oauth2.AuthStyleInParams
	return &githubFlow{c: c, client: httpClient(c.HTTP),
		conf: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: end, Scopes: []string{"read:user", "user:email"}}}
}

type githubFlow struct {
	c      GitHubConfig
	client *http.Client
	conf   oauth2.Config
}

func (f *githubFlow) method() string { return "github" }

func (f *githubFlow) config(redirect string) *oauth2.Config {
	c := f.conf
	c.RedirectURL = redirect
	return &c
}

func (f *githubFlow) authURL(_ context.Context, redirect, state, _, verifier string) (string, error) {
	return f.config(redirect).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

// maxAPIBody bounds what is read of one GitHub API answer.
const maxAPIBody = 1 << 20

// api GETs path of GitHub's REST API with tok into v.
func (f *githubFlow) api(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.c.APIURL+path, nil)
	if err != nil {
		return err
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("GitHub %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("GitHub %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GitHub %s: %s", path, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GitHub %s: %w", path, err)
	}
	return nil
}

func (f *githubFlow) identify(ctx context.Context, redirect, code, _, verifier string) (Identity, error) {
	tok, err := f.config(redirect).Exchange(context.WithValue(ctx, oauth2.HTTPClient, f.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("exchanging the code at GitHub: %w", err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := f.api(ctx, tok, "/user", &user); err != nil {
		return Identity{}, err
	}
	if user.ID <= 0 {
		return Identity{}, reject("GitHub's /user has no user ID")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := f.api(ctx, tok, "/user/emails", &emails); err != nil {
		return Identity{}, err
	}
	id := Identity{Provider: "github", Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	if id.Name == "" {
		id.Name = user.Login
	}
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
		}
	}
	return id, nil
}
