package proxy

import (
	"bytes"
	"errors"
	"slices"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// setMembers returns obj, a JSON object, with the values of some of its
// top-level members replaced, and nothing else of it touched: the bytes
// between the members stay as they came, so a same-format request or
// answer passes through without being decoded into a map and encoded
// again (which costs as much as the body is long, and reorders it). For
// each member whose key is in set, set[key] gets the member's value and
// returns the new one (every member of that name, should the key be
// repeated). A key of set that obj lacks is added as its first member with
// the value set[key](nil), unless that is nil.
func setMembers(obj []byte, set map[string]func(old []byte) []byte) ([]byte, error) {
	// jsontext reads values in place (encoding/json's Decoder costs an
	// allocation per token); as encoding/json does, it accepts repeated
	// names and invalid UTF-8.
	d, done := decoderFor(obj)
	defer done()
	dec := &d.dec
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
		return nil, errors.New("not a JSON object")
	}
	edits := d.edits[:0]
	defer func() { d.edits = edits[:0] }()
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			if key, err = jsontext.AppendUnquote(nil, name); err != nil {
				return nil, err
			}
		}
		f := set[string(key)]
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if f != nil {
			end := dec.InputOffset()
			edits = append(edits, span{end - int64(len(val)), end, string(key), f(val)})
		}
	}
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '}' {
		return nil, errors.New("not a JSON object")
	}
	var added []byte
	for _, key := range sortedKeys(set) {
		if slices.ContainsFunc(edits, func(e span) bool { return e.key == key }) {
			continue
		}
		if v := set[key](nil); v != nil {
			added = append(append(append(append(added, mustJSON(key)...), ':'), v...), ',')
		}
	}
	if len(edits) == 0 && len(added) == 0 {
		return obj, nil
	}
	out := make([]byte, 0, len(obj)+len(added)+32)
	open := bytes.IndexByte(obj, '{') + 1
	out = append(out, obj[:open]...)
	if len(added) > 0 {
		if len(edits) == 0 && isEmptyObject(obj[open:]) {
			added = added[:len(added)-1] // {} gets no trailing comma
		}
		out = append(out, added...)
	}
	at := int64(open)
	for _, e := range edits {
		out = append(append(out, obj[at:e.start]...), e.val...)
		at = e.end
	}
	return append(out, obj[at:]...), nil
}

// memberDecoder is what setMembers reuses from one call to the next (a
// stream's every event goes through it).
type memberDecoder struct {
	r     bytes.Reader
	dec   jsontext.Decoder
	edits []span
}

type span struct {
	start, end int64
	key        string
	val        []byte
}

var decoders = sync.Pool{New: func() any { return new(memberDecoder) }}

// maxPooled is the largest object whose decoder is reused (an answer's
// events are small; a request may be 32 MiB).
const maxPooled = 64 << 10

// decoderFor returns a pooled decoder reading data as encoding/json would
// (repeated names and invalid UTF-8 accepted), and the function that puts
// it back: a decoder keeps its buffer, as large as the largest value read,
// so one that read more than maxPooled is dropped.
func decoderFor(data []byte) (*memberDecoder, func()) {
	d := decoders.Get().(*memberDecoder)
	d.r.Reset(data)
	d.dec.Reset(&d.r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if len(data) > maxPooled {
		return d, func() {}
	}
	return d, func() { decoders.Put(d) }
}

// isEmptyObject reports whether rest, what follows an object's '{', holds
// no member.
func isEmptyObject(rest []byte) bool {
	return bytes.IndexByte(bytes.TrimLeft(rest, " \t\r\n"), '}') == 0
}

func sortedKeys(m map[string]func([]byte) []byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setString is a setMembers function giving a member the string s.
func setString(s string) func([]byte) []byte {
	v := mustJSON(s)
	return func([]byte) []byte { return v }
}

// renamer renames the model a same-format answer, or a part of one,
// names to the name the client asked for (an alias stays an alias), as
// translated answers do; the upstream's own name for it is the server's
// business. A member "model" is replaced where it is, never added; for
// Anthropic's message_start, inside its "message". Anything that is not
// an object passes as it came.
type renamer struct {
	top, nested map[string]func([]byte) []byte
	name        []byte // the asked name, as JSON
}

func newRenamer(asked string) *renamer {
	name := mustJSON(asked)
	top := map[string]func([]byte) []byte{"model": func(old []byte) []byte {
		if old == nil {
			return nil
		}
		return name
	}}
	return &renamer{top: top, nested: map[string]func([]byte) []byte{"message": func(old []byte) []byte {
		if old == nil {
			return nil
		}
		out, err := setMembers(old, top)
		if err != nil {
			return old
		}
		return out
	}}, name: name}
}

// rename renames obj's model, or, with nested, that of its member
// "message".
func (rn *renamer) rename(obj []byte, nested bool) []byte {
	set := rn.top
	if nested {
		set = rn.nested
	}
	out, err := setMembers(obj, set)
	if err != nil {
		return obj
	}
	return out
}
