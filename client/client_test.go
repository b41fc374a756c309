package client_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/client"
)

func TestServerURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://loom.example.com/", "https://loom.example.com"},
		{"http://127.0.0.1:7433", "http://127.0.0.1:7433"},
		{"http://localhost:7433", "http://localhost:7433"},
		{"http://[::1]:7433", "http://[::1]:7433"},
		{"http://loom.example.com", ""}, // a token in clear over the network
		{"ftp://loom.example.com", ""},
		{"https://user:pw@loom.example.com", ""},
		{"loom.example.com", ""},
	} {
		got, err := client.ServerURL(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ServerURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// A credentials file others may read is refused, as ssh refuses a key.
func TestCredentialsReadableByOthersRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	os.WriteFile(path, []byte(`{"current":"https://x.test","servers":{"https://x.test":{"token":"loomcli_x"}}}`), 0o644)
	os.Chmod(path, 0o644)
	_, err := client.WhoAmI(context.Background(), client.Options{ConfigDir: dir})
	if err == nil || !strings.Contains(err.Error(), "read by others") {
		t.Fatalf("WhoAmI with a 0644 file: %v", err)
	}
	if _, err := client.WhoAmI(context.Background(), client.Options{ConfigDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not signed in") {
		t.Fatalf("WhoAmI with no file: %v", err)
	}
}
