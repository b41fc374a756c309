package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
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
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	type span struct {
		start, end int64
		val        []byte
	}
	var edits []span
	seen := make(map[string]bool, len(set))
	var raw json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if f := set[key]; f != nil {
			end := dec.InputOffset()
			edits = append(edits, span{end - int64(len(raw)), end, f(raw)})
			seen[key] = true
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errors.New("not a JSON object")
	}
	var added []byte
	for _, key := range sortedKeys(set) {
		if seen[key] {
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
		if !dec.More() && len(edits) == 0 && isEmptyObject(obj[open:]) {
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

// renameModel is what a same-format answer, or a part of one, names as its
// model: the name the client asked for (an alias stays an alias), as
// translated answers do; the upstream's own name for it is the server's
// business. A member "model" is replaced where it is, never added; for
// Anthropic's message_start, inside its "message". Anything that is not
// an object passes as it came.
func renameModel(obj []byte, asked string, nested string) []byte {
	name := mustJSON(asked)
	model := map[string]func([]byte) []byte{"model": func(old []byte) []byte {
		if old == nil {
			return nil
		}
		return name
	}}
	set := model
	if nested != "" {
		set = map[string]func([]byte) []byte{nested: func(old []byte) []byte {
			if old == nil {
				return nil
			}
			out, err := setMembers(old, model)
			if err != nil {
				return old
			}
			return out
		}}
	}
	out, err := setMembers(obj, set)
	if err != nil {
		return obj
	}
	return out
}
