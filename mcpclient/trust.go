package mcpclient

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/loom-agent/loom/workspace"
)

// A repository's server list names commands Loom would run as the user:
// a hostile repository is an attacker, so its servers start only once the
// user trusted that repository's list as it is now. Consent is recorded in
// the trust file beside Loom's config file, by the repository's root and
// the SHA-256 of its .loom/mcp.json: any change to the list (a new
// command, an argument, an environment variable) asks again.

// TrustFileName is the trust file's name, in the folder of Loom's config.
const TrustFileName = "mcp-trust.json"

// Repo is a repository's server list as found on disk.
type Repo struct {
	Root string
	// Hash is the SHA-256 of the list's bytes; "" when there is none.
	Hash string
	File File
	// Err says why the list could not be used (it is malformed).
	Err error
}

// ReadRepo reads root's .loom/mcp.json, confined to root (a link out of
// it, a FIFO or a huge file is refused). No file is an empty Repo.
func ReadRepo(root string) (Repo, error) {
	ws, err := workspace.New(root)
	if err != nil {
		return Repo{}, err
	}
	r := Repo{Root: ws.Root()}
	data, err := ws.ReadFile(RepoFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return r, nil
	case err != nil:
		r.Err = err
		return r, nil
	case len(data) > maxConfigSize:
		r.Err = fmt.Errorf("%s: over %d bytes", RepoFile, maxConfigSize)
		return r, nil
	}
	sum := sha256.Sum256(data)
	r.Hash = hex.EncodeToString(sum[:])
	if r.File, err = Parse(data); err != nil {
		r.Err = fmt.Errorf("%s: %w", filepath.Join(r.Root, RepoFile), err)
	}
	return r, nil
}

// trustEntry is one consent: this root's list with this hash may run.
type trustEntry struct {
	Root   string `json:"root"`
	SHA256 string `json:"sha256"`
}

type trustList struct {
	Trusted []trustEntry `json:"trusted"`
}

func readTrust(path string) (trustList, error) {
	var tl trustList
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tl, nil
	}
	if err != nil {
		return tl, err
	}
	if err := json.Unmarshal(data, &tl); err != nil {
		return tl, fmt.Errorf("%s: %w", path, err)
	}
	return tl, nil
}

// Trusted reports whether the user trusted r's list as it is now, in the
// trust file at path.
func Trusted(path string, r Repo) bool {
	if r.Hash == "" || path == "" {
		return false
	}
	tl, err := readTrust(path)
	return err == nil && slices.Contains(tl.Trusted, trustEntry{r.Root, r.Hash})
}

// Trust records that the user trusts r's list as it is now, replacing an
// earlier consent for the same root. The file is written atomically and
// readable by the user only.
func Trust(path string, r Repo) error {
	if r.Hash == "" {
		return fmt.Errorf("%s has no %s to trust", r.Root, RepoFile)
	}
	if r.Err != nil {
		return r.Err
	}
	tl, err := readTrust(path)
	if err != nil {
		return err
	}
	tl.Trusted = slices.DeleteFunc(tl.Trusted, func(e trustEntry) bool { return e.Root == r.Root })
	tl.Trusted = append(tl.Trusted, trustEntry{r.Root, r.Hash})
	data, err := json.MarshalIndent(tl, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(data, '\n'), 0o600)
}
