package mcp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/loom-agent/loom/internal/userdir"
)

// TokenFile is a generated bearer token written where the user's clients
// can read it and other users cannot.
type TokenFile struct {
	Path  string
	Token string
}

// WriteTokenFile generates a bearer token (128 random bits) for the server
// listening on addr and writes it, mode 0600, to a file named after the
// address in TokenDir. A stale file of an earlier server on the same
// address is replaced; Remove deletes it when the server stops.
func WriteTokenFile(addr net.Addr) (*TokenFile, error) {
	dir, err := TokenDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token folder: %w", err)
	}
	if err := ownFolder(dir); err != nil {
		return nil, fmt.Errorf("token folder: %w", err)
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "mcp-"+strings.ReplaceAll(host, ":", "_")+"-"+port+".token")
	// The port is ours now, so a file of that name is a dead server's.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("token file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	tf := &TokenFile{Path: path, Token: rand.Text()}
	if _, err := f.WriteString(tf.Token + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("token file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("token file: %w", err)
	}
	return tf, nil
}

// Remove deletes the token file.
func (tf *TokenFile) Remove() error { return os.Remove(tf.Path) }

// TokenDir is where generated tokens are written: $XDG_RUNTIME_DIR/loom
// (a per-user folder closed to others, emptied at logout), else
// $XDG_STATE_HOME/loom, else ~/.local/state/loom.
func TokenDir() (string, error) {
	// The XDG spec says relative values are invalid and must be ignored.
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "loom"), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "loom"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || !filepath.IsAbs(home) {
		return "", errors.New("no folder for the token file ($XDG_RUNTIME_DIR, $XDG_STATE_HOME and $HOME unset): give one with --token or LOOM_MCP_TOKEN")
	}
	return filepath.Join(home, ".local", "state", "loom"), nil
}

// ownFolder refuses a token folder that is a symlink, belongs to another
// user or lets others write in it: they could swap the file.
func ownFolder(dir string) error { return userdir.Check(dir, 0o022) }
