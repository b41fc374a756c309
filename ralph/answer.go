package ralph

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	promiseTag = regexp.MustCompile(`(?s)<promise>(.*?)</promise>`)
	commitTag  = regexp.MustCompile(`(?s)<commit>(.*?)</commit>`)
)

// maxMessage caps a commit message's subject.
const maxMessage = 200

// promised reports whether final states promise in a <promise> tag
// (spaces around and inside collapsed). An empty promise is never stated.
func promised(final, promise string) bool {
	want := strings.Join(strings.Fields(promise), " ")
	if want == "" {
		return false
	}
	for _, m := range promiseTag.FindAllStringSubmatch(final, -1) {
		if strings.Join(strings.Fields(m[1]), " ") == want {
			return true
		}
	}
	return false
}

// commitMessage is the message of iteration n's commit: the agent's
// <commit> tag, else its final answer's first line (tags removed), else a
// plain one.
func commitMessage(final string, n int) string {
	if m := commitTag.FindStringSubmatch(final); m != nil {
		if msg := strings.TrimSpace(m[1]); msg != "" {
			return capMessage(msg)
		}
	}
	text := promiseTag.ReplaceAllString(final, "")
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line != "" {
			return capMessage(line)
		}
	}
	return fmt.Sprintf("ralph: iteration %d", n)
}

// capMessage keeps a subject line short; a body the agent wrote in a
// <commit> tag keeps its lines.
func capMessage(msg string) string {
	subject, body, _ := strings.Cut(msg, "\n")
	if len(subject) > maxMessage {
		subject = strings.ToValidUTF8(subject[:maxMessage], "") + "…"
	}
	if body = strings.TrimSpace(body); body != "" {
		return subject + "\n\n" + body
	}
	return subject
}
