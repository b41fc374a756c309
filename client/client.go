// Package client is how the local agent reaches a team server (`loom
// server`): signing in with the device flow (`loom login`), signing out
// (`loom logout`), and asking who it is signed in as (`loom whoami`). It
// speaks HTTP only and imports nothing of the server.
//
// The token `loom login` gets is kept in $XDG_CONFIG_HOME/loom/credentials.json
// (0600, in a 0700 folder), one per server; a file others can read is
// refused, as ssh refuses a readable key.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ClientID is the OAuth client the command line is to the server.
const ClientID = "loom-cli"

// Options says which server to talk to and where the credentials live.
type Options struct {
	// Server is the server's URL; "" is the one signed in to last.
	Server string
	// ConfigDir holds credentials.json; "" is $XDG_CONFIG_HOME/loom (or
	// ~/.config/loom).
	ConfigDir string
	// HTTP is the HTTP client; nil is one with a 30 s timeout per request.
	HTTP *http.Client
	// Out receives what the person must do and read (the code and URL).
	Out io.Writer
}

func (o Options) http() *http.Client {
	if o.HTTP != nil {
		return o.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (o Options) out() io.Writer {
	if o.Out == nil {
		return io.Discard
	}
	return o.Out
}

// Identity is who a token signs in as.
type Identity struct {
	Server    string `json:"-"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Kind      string `json:"kind"`
	SessionID string `json:"session_id"`
}

// ServerURL checks and normalizes a server address: https://, or http://
// to this machine only (a token must not cross the network in clear).
func ServerURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("server %q: want https://host[:port]", s)
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		ip := net.ParseIP(h)
		if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("server %q: plain http is allowed to this machine only; use https", s)
		}
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// Login signs in to o.Server with the device flow: it prints the code and
// the page to approve it at, polls until the person approves, denies or
// the code expires, stores the token and returns who it signs in as.
func Login(ctx context.Context, o Options) (*Identity, error) {
	server, err := ServerURL(o.Server)
	if err != nil {
		return nil, err
	}
	cfg := &oauth2.Config{
		ClientID: ClientID,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: server + "/api/v1/device/code",
			TokenURL:      server + "/api/v1/device/token",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.http())
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting to sign in to %s: %w", server, err)
	}
	fmt.Fprintf(o.out(), "To sign in, open %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(o.out(), "(or open %s)\n", da.VerificationURIComplete)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			switch re.ErrorCode {
			case "access_denied":
				return nil, errors.New("sign-in denied in the browser")
			case "expired_token":
				return nil, errors.New("the code expired before it was approved: run loom login again")
			}
		}
		return nil, fmt.Errorf("signing in to %s: %w", server, err)
	}
	id, err := whoAmI(ctx, o, server, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if err := save(o, server, tok.AccessToken); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.out(), "Signed in to %s as %s.\n", server, id.Email)
	return id, nil
}

// WhoAmI asks the server who the stored token signs in as.
func WhoAmI(ctx context.Context, o Options) (*Identity, error) {
	server, token, err := load(o)
	if err != nil {
		return nil, err
	}
	return whoAmI(ctx, o, server, token)
}

// Logout ends the stored session on the server and forgets its token. The
// token is forgotten even when the server cannot be reached; the error
// then says the session may still be live.
func Logout(ctx context.Context, o Options) error {
	server, token, err := load(o)
	if err != nil {
		return err
	}
	_, callErr := call(ctx, o, http.MethodPost, server, token, "/api/v1/signout")
	if err := forget(o, server); err != nil {
		return err
	}
	var se *StatusError
	if callErr != nil && !(errors.As(callErr, &se) && se.Status == http.StatusUnauthorized) {
		return fmt.Errorf("the token is forgotten here, but the server did not end the session: %w", callErr)
	}
	fmt.Fprintf(o.out(), "Signed out of %s.\n", server)
	return nil
}

func whoAmI(ctx context.Context, o Options, server, token string) (*Identity, error) {
	body, err := call(ctx, o, http.MethodGet, server, token, "/api/v1/me")
	if err != nil {
		return nil, err
	}
	var id Identity
	if err := json.Unmarshal(body, &id); err != nil {
		return nil, fmt.Errorf("reading %s/api/v1/me: %w", server, err)
	}
	id.Server = server
	return &id, nil
}

// StatusError is an answer other than success.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return "not signed in (the session ended or was revoked): run loom login"
	}
	return fmt.Sprintf("the server answered %d: %s", e.Status, e.Message)
}

// maxAnswer bounds what the client reads of an answer.
const maxAnswer = 1 << 20

func call(ctx context.Context, o Options, method, server, token, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, server+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := o.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching %s: %w", server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading %s%s: %w", server, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		return nil, &StatusError{Status: resp.StatusCode, Message: e.Error}
	}
	return body, nil
}

// credentials is the file's content.
type credentials struct {
	// Current is the server signed in to last.
	Current string           `json:"current"`
	Servers map[string]entry `json:"servers"`
}

type entry struct {
	Token string `json:"token"`
}

func (o Options) dir() (string, error) {
	if o.ConfigDir != "" {
		return o.ConfigDir, nil
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "loom"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home folder for the credentials: %w", err)
	}
	return filepath.Join(home, ".config", "loom"), nil
}

// CredentialsPath is the file the token is kept in.
func CredentialsPath(o Options) (string, error) {
	d, err := o.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "credentials.json"), nil
}

func read(o Options) (credentials, string, error) {
	c := credentials{Servers: map[string]entry{}}
	path, err := CredentialsPath(o)
	if err != nil {
		return c, "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, path, nil
	}
	if err != nil {
		return c, path, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c, path, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return c, path, fmt.Errorf("%s can be read by others (mode %o): run chmod 600 on it, or loom logout and log in again", path, st.Mode().Perm())
	}
	if err := json.NewDecoder(io.LimitReader(f, maxAnswer)).Decode(&c); err != nil {
		return c, path, fmt.Errorf("reading %s: %w", path, err)
	}
	if c.Servers == nil {
		c.Servers = map[string]entry{}
	}
	return c, path, nil
}

// write replaces the file atomically, created 0600 from its first byte.
func write(path string, c credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func save(o Options, server, token string) error {
	c, path, err := read(o)
	if err != nil {
		return err
	}
	c.Servers[server] = entry{Token: token}
	c.Current = server
	if err := write(path, c); err != nil {
		return fmt.Errorf("storing the token: %w", err)
	}
	return nil
}

// load returns the server o names (or the current one) and its token.
func load(o Options) (server, token string, err error) {
	c, _, err := read(o)
	if err != nil {
		return "", "", err
	}
	server = c.Current
	if o.Server != "" {
		if server, err = ServerURL(o.Server); err != nil {
			return "", "", err
		}
	}
	e, ok := c.Servers[server]
	if server == "" || !ok {
		return "", "", fmt.Errorf("%w: run loom login SERVER", ErrNotSignedIn)
	}
	return server, e.Token, nil
}

func forget(o Options, server string) error {
	c, path, err := read(o)
	if err != nil {
		return err
	}
	delete(c.Servers, server)
	if c.Current == server {
		c.Current = ""
	}
	if len(c.Servers) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return write(path, c)
}
