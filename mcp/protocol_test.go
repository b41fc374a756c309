package mcp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/session"
)

// connectStdio serves s over a pair of pipes as `loom mcp` serves stdio,
// and connects mcp-go's client to it: every message crosses as JSON-RPC.
func connectStdio(t *testing.T, s *Server, caps mcpgo.ClientCapabilities, opts ...client.ClientOption) *client.Client {
	t.Helper()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeStdio(ctx, toServer, fromServer)
		fromServer.Close()
	}()
	c := client.NewClient(transport.NewIO(toClient, fromClient, io.NopCloser(strings.NewReader(""))), opts...)
	t.Cleanup(func() {
		c.Close()
		fromClient.Close()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the stdio server did not end")
		}
	})
	// Start's context serves the client's side of the server's requests
	// (sampling) for as long as the connection lasts.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ClientInfo = mcpgo.Implementation{Name: "test", Version: "1"}
	init.Params.ProtocolVersion = mcpgo.ProtocolVersion20251125
	init.Params.Capabilities = caps
	if _, err := c.Initialize(timeout(t), init); err != nil {
		t.Fatal(err)
	}
	return c
}

func timeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCapabilitiesAdvertisedOnlyWhenServed(t *testing.T) {
	dir := files(t, map[string]string{"a.go": "package a\n"})
	tests := []struct {
		name         string
		opts         Options
		wantSampling bool
	}{
		{"without a sampled agent", Options{Roots: []string{dir}}, false},
		{"with a sampled agent", Options{Roots: []string{dir}, SampledAgent: sampledAgent(t)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := connectStdio(t, s, mcpgo.ClientCapabilities{})
			caps := c.GetServerCapabilities()
			if caps.Prompts == nil || caps.Resources == nil || !caps.Resources.Subscribe || caps.Logging == nil || caps.Completions == nil {
				t.Errorf("capabilities %+v: want prompts, resources with subscribe, logging and completions", caps)
			}
			if got := caps.Sampling != nil; got != tc.wantSampling {
				t.Errorf("sampling advertised: %v, want %v", got, tc.wantSampling)
			}
		})
	}
}

func TestPrompts(t *testing.T) {
	dir := files(t, map[string]string{"calc.go": "package calc\n\nfunc Add(a, b int) int { return a - b }\n"})
	outside := files(t, map[string]string{"secret.txt": "s3cret\n"})
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	list, err := c.ListPrompts(timeout(t), mcpgo.ListPromptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Prompts {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "document edit explain fix write_tests" {
		t.Errorf("prompts: %s", got)
	}
	tests := []struct {
		name, prompt string
		args         map[string]string
		wantErr      string
		wantText     []string
		wantEmbedded bool
	}{
		{name: "fix a file", prompt: "fix", args: map[string]string{"file": "calc.go"},
			wantText: []string{"Fix the bugs in calc.go."}, wantEmbedded: true},
		{name: "explain a selection, absolute path", prompt: "explain",
			args:     map[string]string{"file": filepath.Join(dir, "calc.go"), "selection": "return a - b"},
			wantText: []string{"Explain what the code in the selected code of calc.go does", "```\nreturn a - b\n```"}, wantEmbedded: true},
		{name: "edit with instruction", prompt: "edit", args: map[string]string{"file": "calc.go", "instruction": "rename Add to Sum"},
			wantText: []string{"rename Add to Sum", "calc.go"}, wantEmbedded: true},
		{name: "edit without instruction", prompt: "edit", args: map[string]string{"file": "calc.go"}, wantErr: `"instruction" is required`},
		{name: "no file", prompt: "document", args: map[string]string{}, wantErr: `"file" is required`},
		{name: "a path outside the roots", prompt: "fix", args: map[string]string{"file": "../" + filepath.Base(outside) + "/secret.txt"}, wantErr: "outside"},
		{name: "a symlink leading outside", prompt: "fix", args: map[string]string{"file": "link.txt"}, wantErr: "outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mcpgo.GetPromptRequest{}
			req.Params.Name, req.Params.Arguments = tc.prompt, tc.args
			res, err := c.GetPrompt(timeout(t), req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var text string
			embedded := false
			for _, m := range res.Messages {
				switch ct := m.Content.(type) {
				case mcpgo.TextContent:
					text += ct.Text
				case mcpgo.EmbeddedResource:
					tr, ok := ct.Resource.(mcpgo.TextResourceContents)
					embedded = ok && strings.Contains(tr.Text, "return a - b") && strings.HasPrefix(tr.URI, "file://")
				}
			}
			for _, w := range tc.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("prompt text %q lacks %q", text, w)
				}
			}
			if strings.Contains(text, "s3cret") {
				t.Error("the prompt quotes a file outside the roots")
			}
			if embedded != tc.wantEmbedded {
				t.Errorf("file embedded: %v, want %v", embedded, tc.wantEmbedded)
			}
		})
	}
}

func TestCompletionOfFileArgument(t *testing.T) {
	fs := map[string]string{".gitignore": "build/\n", "cmd/main.go": "package main\n", "calc.go": "package calc\n",
		"calc_test.go": "package calc\n", "build/out.go": "package out\n"}
	for i := range 120 {
		fs[fmt.Sprintf("many/f%03d.txt", i)] = "x\n"
	}
	dir := files(t, fs)
	s, err := New(Options{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	tests := []struct {
		name, arg, value string
		want             string // values joined by spaces
		wantMore         bool
		wantCount        int // when want is empty
	}{
		{name: "prefix of the path", arg: "file", value: "ca", want: "calc.go calc_test.go"},
		{name: "prefix of the name", arg: "file", value: "mai", want: "cmd/main.go"},
		{name: "ignored files left out", arg: "file", value: "build", want: ""},
		{name: "capped at 100", arg: "file", value: "many/", wantCount: 100, wantMore: true},
		{name: "other arguments", arg: "selection", value: "ca", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mcpgo.CompleteRequest{}
			req.Params.Ref = mcpgo.PromptReference{Type: "ref/prompt", Name: "fix"}
			req.Params.Argument.Name, req.Params.Argument.Value = tc.arg, tc.value
			res, err := c.Complete(timeout(t), req)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Completion.Values
			if tc.wantCount > 0 {
				if len(got) != tc.wantCount || res.Completion.HasMore != tc.wantMore {
					t.Errorf("%d values, hasMore %v; want %d, %v", len(got), res.Completion.HasMore, tc.wantCount, tc.wantMore)
				}
				return
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("values %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompletionWalkIsBounded(t *testing.T) {
	fs := map[string]string{}
	for i := range 20 {
		fs[fmt.Sprintf("f%02d.txt", i)] = "x\n"
	}
	s, err := New(Options{Roots: []string{files(t, fs)}})
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { maxCompletionWalk = n }(maxCompletionWalk)
	maxCompletionWalk = 5
	got, err := s.CompletePromptArgument(timeout(t), "fix", mcpgo.CompleteArgument{Name: "file", Value: "f"}, mcpgo.CompleteContext{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Values) >= 20 || !got.HasMore {
		t.Errorf("%d values, hasMore %v: want the walk cut short, and hasMore", len(got.Values), got.HasMore)
	}
}

func TestResources(t *testing.T) {
	dir := files(t, map[string]string{"calc.go": "package calc\n\nfunc Add(a, b int) int { return a + b }\n"})
	outside := files(t, map[string]string{"secret.txt": "s3cret\n"})
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	list, err := c.ListResources(timeout(t), mcpgo.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 || list.Resources[0].URI != repoMapURI {
		t.Errorf("resources %+v, want the repo map", list.Resources)
	}
	tmpl, err := c.ListResourceTemplates(timeout(t), mcpgo.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpl.ResourceTemplates) != 1 {
		t.Errorf("templates %+v: want file:// only, with no thread store", tmpl.ResourceTemplates)
	}
	tests := []struct {
		name, uri, want, wantErr string
	}{
		{name: "a file", uri: fileURI(filepath.Join(dir, "calc.go")), want: "return a + b"},
		{name: "the repo map", uri: repoMapURI, want: "Add"},
		{name: "outside the roots", uri: fileURI(filepath.Join(outside, "secret.txt")), wantErr: "outside"},
		{name: "dot-dot out of the root", uri: "file://" + filepath.ToSlash(dir) + "/../" + filepath.Base(outside) + "/secret.txt", wantErr: "outside"},
		{name: "a symlink leading outside", uri: fileURI(filepath.Join(dir, "link.txt")), wantErr: "outside"},
		{name: "a missing file", uri: fileURI(filepath.Join(dir, "nope.go")), wantErr: "nope.go"},
		{name: "a thread without a store", uri: "loom://threads/abc", wantErr: "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mcpgo.ReadResourceRequest{}
			req.Params.URI = tc.uri
			res, err := c.ReadResource(timeout(t), req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr, ok := res.Contents[0].(mcpgo.TextResourceContents)
			if !ok || !strings.Contains(tr.Text, tc.want) {
				t.Errorf("contents %+v, want text containing %q", res.Contents, tc.want)
			}
		})
	}
}

func TestThreadResourcesSeeTheServersWorkspacesOnly(t *testing.T) {
	dir := files(t, map[string]string{"a.txt": "original\n"})
	other := files(t, map[string]string{"a.txt": "original\n"})
	st := openStore(t)
	record := func(root string) string {
		ws := mustWorkspace(t, root)
		out, err := (&session.Service{Store: st}).Run(context.Background(), session.Request{Instruction: "edit a.txt in " + root,
			Workspace: ws, Agent: &fakeRunner{stop: "done"}, Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		return out.ThreadID
	}
	mine, theirs := record(dir), record(other)
	s, err := New(Options{Roots: []string{dir}, Sessions: &session.Service{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	for _, tc := range []struct{ name, id, want, wantErr string }{
		{"this workspace's thread", mine, "edit a.txt in " + dir, ""},
		{"by prefix", mine[:8], "edit a.txt in " + dir, ""},
		{"another workspace's thread", theirs, "", "no thread"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := mcpgo.ReadResourceRequest{}
			req.Params.URI = threadURIPrefix + tc.id
			res, err := c.ReadResource(timeout(t), req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr := res.Contents[0].(mcpgo.TextResourceContents); !strings.Contains(tr.Text, tc.want) {
				t.Errorf("thread %q lacks %q", tr.Text, tc.want)
			}
		})
	}
}

func TestResourceSubscriptions(t *testing.T) {
	dir := files(t, map[string]string{"a.txt": "one\n", "b.txt": "one\n"})
	outside := files(t, map[string]string{"secret.txt": "s3cret\n"})
	s, err := New(Options{Roots: []string{dir}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	updated := make(chan string, 16)
	c.OnNotification(func(n mcpgo.JSONRPCNotification) {
		if n.Method == string(mcpgo.MethodNotificationResourceUpdated) {
			updated <- fmt.Sprint(n.Params.AdditionalFields["uri"])
		}
	})
	subscribe := func(uri string) error {
		req := mcpgo.SubscribeRequest{}
		req.Params.URI = uri
		return c.Subscribe(timeout(t), req)
	}
	for _, bad := range []struct{ uri, want string }{
		{fileURI(filepath.Join(outside, "secret.txt")), "outside"},
		{repoMapURI, "only file://"},
	} {
		if err := subscribe(bad.uri); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("subscribe %s: %v, want an error containing %q", bad.uri, err, bad.want)
		}
	}
	a, b := fileURI(filepath.Join(dir, "a.txt")), fileURI(filepath.Join(dir, "b.txt"))
	if err := subscribe(a); err != nil {
		t.Fatal(err)
	}
	// b is not subscribed: its change must not be told.
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("two, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-updated:
		if got != a {
			t.Errorf("updated %s, want %s (and never %s)", got, a, b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/resources/updated after the subscribed file changed")
	}
	req := mcpgo.UnsubscribeRequest{}
	req.Params.URI = a
	if err := c.Unsubscribe(timeout(t), req); err != nil {
		t.Fatal(err)
	}
	s.watch.mu.Lock()
	n := len(s.watch.subs)
	s.watch.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions still watched after unsubscribing", n)
	}
}

func TestLogNotifications(t *testing.T) {
	dir := files(t, map[string]string{"a.txt": "x\n"})
	s, err := New(Options{Roots: []string{dir}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	var mu sync.Mutex
	var got []map[string]any
	c.OnNotification(func(n mcpgo.JSONRPCNotification) {
		if n.Method == "notifications/message" {
			mu.Lock()
			got = append(got, map[string]any{"level": n.Params.AdditionalFields["level"], "data": n.Params.AdditionalFields["data"]})
			mu.Unlock()
		}
	})
	log := slog.New(s.LogHandler(slog.DiscardHandler))
	log.Info("before setLevel") // nobody asked: not sent
	req := mcpgo.SetLevelRequest{}
	req.Params.Level = mcpgo.LoggingLevelWarning
	if err := c.SetLevel(timeout(t), req); err != nil {
		t.Fatal(err)
	}
	log.Info("below the level")
	log.With("api_key", "sk-123").Warn("model refused", "Authorization", "Bearer t0ken", "model", "m1")
	log.Error("last")
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("log notifications: %v, want 2", got)
		case <-time.After(5 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	all := fmt.Sprint(got)
	for _, bad := range []string{"before setLevel", "below the level", "sk-123", "t0ken"} {
		if strings.Contains(all, bad) {
			t.Errorf("notifications %s contain %q", all, bad)
		}
	}
	for _, want := range []string{"model refused", "warning", "[redacted]", "m1", "last", "error"} {
		if !strings.Contains(all, want) {
			t.Errorf("notifications %s lack %q", all, want)
		}
	}
}

func TestSubscriptionsAreBounded(t *testing.T) {
	w := &subscriptions{interval: time.Hour, notify: func(string, string) {}}
	for i := range maxSubscriptions {
		if err := w.add("s1", fmt.Sprintf("file:///f%d", i), "/nonexistent"); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
	if err := w.add("s1", "file:///one-more", "/nonexistent"); err == nil || !strings.Contains(err.Error(), "the most it may") {
		t.Errorf("subscription over the cap: %v, want a refusal", err)
	}
	if err := w.add("s1", "file:///f0", "/nonexistent"); err != nil {
		t.Errorf("subscribing again to a watched file: %v", err)
	}
	if err := w.add("s2", "file:///other", "/nonexistent"); err != nil {
		t.Errorf("another session: %v", err)
	}
	w.drop("s1")
	w.remove("s2", "file:///other")
	if len(w.subs) != 0 {
		t.Errorf("left after dropping every session: %v", w.subs)
	}
}
