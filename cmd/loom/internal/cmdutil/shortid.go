package cmdutil

import (
	"context"

	"github.com/loom-agent/loom/thread"
)

// ShortIDs returns how lists show the threads' IDs: each one's shortest
// prefix that no other thread of st starts (thread.Store.ShortIDs), which
// every command taking an ID accepts; the whole ID where the store cannot
// say.
func ShortIDs(ctx context.Context, st *thread.Store, ts []thread.Thread) func(id string) string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	short, err := st.ShortIDs(ctx, ids)
	return func(id string) string {
		if s, ok := short[id]; ok && err == nil {
			return s
		}
		return id
	}
}
