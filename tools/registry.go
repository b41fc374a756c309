package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/loom-agent/loom/workspace"
)

// MaxArgsSize bounds a call's arguments as JSON: a whole file's content,
// escaped, fits twice over.
const MaxArgsSize = 2 * workspace.MaxFileSize

// MaxArgString bounds one string argument where the tool's schema sets no
// tighter maxLength: no tool reads or writes a file larger than this.
const MaxArgString = workspace.MaxFileSize

// maxErrorText bounds an error's text as the registry passes it on, so an
// argument a tool quotes in full cannot fill a model's context or the
// protocol's reply.
const maxErrorText = 16 << 10

// Registry holds tools by name: its own, and those of its sources.
type Registry struct {
	tools   map[string]*entry
	sources []Source

	mu      sync.Mutex
	dynamic map[string]*entry // the sources' tools called so far, by name
}

// Source is a set of tools that changes while the registry lives (another
// MCP server's, which says when its list changed). The registry asks it
// for its tools each time it lists or looks one up, so Tools must be quick
// once its first call returned. A tool whose name the registry already
// holds, or that declares no effect, is left out.
type Source interface {
	Tools() []Tool
}

// entry is a registered tool and its argument schema, compiled on the
// tool's first call so that start-up pays for none of them.
type entry struct {
	tool   Tool
	once   sync.Once
	schema *jsonschema.Schema // nil: the tool declares none
	err    error
}

// NewRegistry returns a registry holding the given tools. A duplicate name
// is an error, since one tool would silently hide the other.
func NewRegistry(ts ...Tool) (*Registry, error) {
	r := &Registry{tools: map[string]*entry{}, dynamic: map[string]*entry{}}
	for _, t := range ts {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers a tool. It must declare its effect: front ends decide
// from it whether a call needs consent, so none is not taken for "harmless".
func (r *Registry) Add(t Tool) error {
	name := t.Spec().Name
	if _, dup := r.tools[name]; dup {
		return fmt.Errorf("tool %q is registered twice", name)
	}
	if e := t.Spec().Effect; !e.valid() {
		return fmt.Errorf("tool %q declares no effect (%v)", name, e)
	}
	r.tools[name] = &entry{tool: t}
	return nil
}

// AddSource adds a source of tools that come and go.
func (r *Registry) AddSource(src Source) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = append(r.sources, src)
}

// Get returns the tool named name.
func (r *Registry) Get(name string) (Tool, bool) {
	e, ok := r.lookup(name)
	if !ok {
		return nil, false
	}
	return e.tool, true
}

// lookup finds the entry of the tool named name: the registry's own, else
// the first source's that offers it now.
func (r *Registry) lookup(name string) (*entry, bool) {
	if e, ok := r.tools[name]; ok {
		return e, true
	}
	for _, t := range r.sourceTools() {
		sp := t.Spec()
		if sp.Name != name {
			continue
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		// The compiled schema is kept while the tool keeps its schema.
		if e, ok := r.dynamic[name]; ok && bytes.Equal(e.tool.Spec().Schema, sp.Schema) {
			e.tool = t
			return e, true
		}
		e := &entry{tool: t}
		r.dynamic[name] = e
		return e, true
	}
	return nil, false
}

// sourceTools lists the sources' tools the registry offers: one per name,
// none hiding its own, each with an effect.
func (r *Registry) sourceTools() []Tool {
	r.mu.Lock()
	sources := r.sources
	r.mu.Unlock()
	var out []Tool
	seen := map[string]bool{}
	for _, src := range sources {
		for _, t := range src.Tools() {
			sp := t.Spec()
			if _, own := r.tools[sp.Name]; own || seen[sp.Name] || !sp.Effect.valid() {
				continue
			}
			seen[sp.Name] = true
			out = append(out, t)
		}
	}
	return out
}

// List returns every tool sorted by name.
func (r *Registry) List() []Tool {
	out := make([]Tool, 0, len(r.tools))
	for _, e := range r.tools {
		out = append(out, e.tool)
	}
	out = append(out, r.sourceTools()...)
	sort.Slice(out, func(i, j int) bool { return out[i].Spec().Name < out[j].Spec().Name })
	return out
}

// Run dispatches one call. An unknown name, or arguments that are too
// large, not JSON or break the tool's schema (a missing field, a value out
// of its bounds) come back as errors that say what would have worked; the
// tool does not run. A call that needs approval (NeedsApproval) runs only
// once env's approver allows it (Approve).
func (r *Registry) Run(ctx context.Context, env *Env, name string, args json.RawMessage) (Result, error) {
	e, ok := r.lookup(name)
	if !ok {
		names := make([]string, 0, len(r.tools))
		for _, t := range r.List() {
			names = append(names, t.Spec().Name)
		}
		return Result{}, fmt.Errorf("unknown tool %s; available tools: %s", QuoteArg(name), strings.Join(names, ", "))
	}
	if err := e.check(name, args); err != nil {
		return Result{}, err
	}
	if err := r.Approve(ctx, env, Call{Name: name, Args: args}); err != nil {
		return Result{}, shortenError(err)
	}
	res, err := e.tool.Run(ctx, env, args)
	return res, shortenError(err)
}

// check refuses arguments the tool must not see.
func (e *entry) check(name string, args json.RawMessage) error {
	if len(args) > MaxArgsSize {
		return fmt.Errorf("invalid arguments for %s: %d bytes of JSON, over the %d MB limit", name, len(args), MaxArgsSize>>20)
	}
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return fmt.Errorf("invalid arguments for %s: not valid JSON", name)
	}
	if err := checkStrings("", v); err != nil {
		return fmt.Errorf("invalid arguments for %s: %w", name, err)
	}
	e.once.Do(func() { e.schema, e.err = compileSchema(name, e.tool.Spec().Schema) })
	if e.err != nil {
		return e.err
	}
	if e.schema == nil {
		return nil
	}
	if err := e.schema.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("invalid arguments for %s: %s", name, describe(ve))
		}
		return fmt.Errorf("invalid arguments for %s: %v", name, err)
	}
	return nil
}

// compileSchema compiles a tool's argument schema; nil when it has none.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tool %s: its argument schema is not valid JSON: %v", name, err)
	}
	url := "mem:///tools/" + name + ".json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("tool %s: its argument schema: %v", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("tool %s: its argument schema does not compile: %v", name, err)
	}
	return s, nil
}

// checkStrings refuses a string (or a key) longer than MaxArgString
// anywhere in v, naming where it is.
func checkStrings(at string, v any) error {
	switch v := v.(type) {
	case string:
		if len(v) > MaxArgString {
			return fmt.Errorf("%s is %d bytes long, over the %d MB limit", argName(at), len(v), MaxArgString>>20)
		}
	case []any:
		for i, x := range v {
			if err := checkStrings(fmt.Sprintf("%s/%d", at, i), x); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, x := range v {
			if len(k) > MaxArgString {
				return fmt.Errorf("a field name is %d bytes long, over the %d MB limit", len(k), MaxArgString>>20)
			}
			if err := checkStrings(at+"/"+k, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// argName names an argument by its JSON pointer ("/focus/2" is focus/2).
func argName(ptr string) string {
	if ptr == "" {
		return "the arguments"
	}
	return QuoteArg(strings.TrimPrefix(ptr, "/"))
}

// describe lists a schema violation's leaves, one per broken rule, each
// with the argument it is about.
func describe(ve *jsonschema.ValidationError) string {
	english := message.NewPrinter(language.English)
	var msgs []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		var msg string
		switch k := e.ErrorKind.(type) {
		case *kind.Required: // worded as decodeArgs words them
			msg = quoteAll(k.Missing) + " is required"
		case *kind.AdditionalProperties:
			msg = "unknown field " + quoteAll(k.Properties)
		default:
			msg = shorten(e.ErrorKind.LocalizedString(english), maxQuote)
		}
		if len(e.InstanceLocation) > 0 {
			msg = argName("/"+strings.Join(e.InstanceLocation, "/")) + ": " + msg
		}
		if !slices.Contains(msgs, msg) {
			msgs = append(msgs, msg)
		}
	}
	walk(ve)
	if len(msgs) > 5 {
		msgs = append(msgs[:5], fmt.Sprintf("and %d more", len(msgs)-5))
	}
	return strings.Join(msgs, "; ")
}

// quoteAll quotes names for a message, the first few only.
func quoteAll(names []string) string {
	var q []string
	for _, n := range names[:min(len(names), 5)] {
		q = append(q, QuoteArg(n))
	}
	if len(names) > 5 {
		q = append(q, fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(q, ", ")
}

// shortError is an error whose text was cut; errors.Is and As still see
// the original.
type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }

// shortenError cuts an error's text to about maxErrorText, keeping its
// start and its end, where a message says what went wrong after quoting.
func shortenError(err error) error {
	if err == nil {
		return err
	}
	msg := err.Error()
	if len(msg) <= maxErrorText {
		return err
	}
	head := cutRunes(msg, maxErrorText*3/4)
	tail := trimPartialRuneStart([]byte(msg[len(msg)-maxErrorText/4:]))
	return &shortError{msg: fmt.Sprintf("%s… (%d bytes omitted) …%s", head, len(msg)-len(head)-len(tail), tail), err: err}
}
