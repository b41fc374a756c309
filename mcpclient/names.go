package mcpclient

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strconv"
	"sync"
)

// MaxNameLen is the longest tool name providers accept (OpenAI's and
// Anthropic's ^[a-zA-Z0-9_-]{1,64}$).
const MaxNameLen = 64

// nameUnsafe matches what no provider accepts in a tool name.
var nameUnsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_-]`) })

// remoteName is one server's tool, by the server's own names.
type remoteName struct{ server, tool string }

// assignNames names each tool for the model: server__tool when that is a
// name providers accept and no other tool wants it; otherwise (too long,
// characters replaced, or two tools wanting one name) its start cut to
// leave room for "_" and 8 hex digits of a hash of the server's and the
// tool's names, so that every tool keeps a distinct name of at most 64
// characters, the same from run to run.
func assignNames(keys []remoteName) map[remoteName]string {
	want := map[string][]remoteName{}
	for _, k := range keys {
		c := k.server + "__" + k.tool
		want[c] = append(want[c], k)
	}
	out := map[remoteName]string{}
	taken := map[string]bool{}
	var hashed []remoteName
	for c, ks := range want {
		if len(ks) == 1 && len(c) <= MaxNameLen && !nameUnsafe().MatchString(c) {
			out[ks[0]], taken[c] = c, true
			continue
		}
		hashed = append(hashed, ks...)
	}
	sort.Slice(hashed, func(i, j int) bool {
		if hashed[i].server != hashed[j].server {
			return hashed[i].server < hashed[j].server
		}
		return hashed[i].tool < hashed[j].tool
	})
	for _, k := range hashed {
		prefix := nameUnsafe().ReplaceAllString(k.server+"__"+k.tool, "_")
		for salt := 0; ; salt++ {
			n := shortName(prefix, k, salt)
			if !taken[n] {
				out[k], taken[n] = n, true
				break
			}
		}
	}
	return out
}

// shortName is prefix cut to leave room for a hash of k (and salt, when a
// hash was already taken).
func shortName(prefix string, k remoteName, salt int) string {
	in := k.server + "\x00" + k.tool
	if salt > 0 {
		in += "\x00" + strconv.Itoa(salt)
	}
	sum := sha256.Sum256([]byte(in))
	suffix := "_" + hex.EncodeToString(sum[:4])
	if len(prefix) > MaxNameLen-len(suffix) {
		prefix = prefix[:MaxNameLen-len(suffix)]
	}
	return prefix + suffix
}
