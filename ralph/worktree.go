package ralph

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// AddWorktree makes a git worktree for loop id beside the repository at
// root (ROOT-ralph-ID, on a new branch ralph/ID from HEAD), so the loop
// leaves the user's tree untouched. It returns the worktree's folder and
// its branch. What the user has not committed is not in it.
func AddWorktree(ctx context.Context, root, id string) (dir, branch string, err error) {
	top, err := gitOut(ctx, root, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", fmt.Errorf("--worktree needs a git repository: %w", err)
	}
	top = strings.TrimSpace(top)
	dir = filepath.Join(filepath.Dir(top), filepath.Base(top)+"-ralph-"+id)
	branch = "ralph/" + id
	if _, err := gitOut(ctx, top, "worktree", "add", "--quiet", "-b", branch, dir, "HEAD"); err != nil {
		return "", "", err
	}
	return dir, branch, nil
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}
