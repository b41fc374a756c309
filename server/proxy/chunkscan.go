package proxy

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// chunkScan is what one pass over a same-format OpenAI chunk learnt.
type chunkScan struct {
	// plain: the chunk carries nothing a lean decoder keeps. Its usage,
	// error and choices' finish reasons are absent or null, and
	// encoding/json would read it without an error into chunkHead. Most
	// chunks of a stream are such, and scanning one with jsontext costs a
	// fraction of decoding it with encoding/json. When unsure (an escaped
	// member name, a value of another type) the scan says no, and the
	// chunk is decoded whole, as before. Names are matched as
	// encoding/json matches them, ignoring case (bytes.EqualFold).
	plain bool
	// models are the offsets of the values of the chunk's top-level
	// members "model" (start, end, start, end…), valid when plain: the
	// chunk is renamed from them without being read a second time.
	models []int64
}

// run scans data.
func (cs *chunkScan) run(data []byte) {
	cs.models = cs.models[:0]
	d, done := decoderFor(data)
	defer done()
	dec := &d.dec
	ok := eachMember(dec, func(key []byte) bool {
		switch {
		case string(key) == "model":
			v, err := dec.ReadValue()
			end := dec.InputOffset()
			cs.models = append(cs.models, end-int64(len(v)), end)
			return err == nil
		case bytes.EqualFold(key, []byte("usage")), bytes.EqualFold(key, []byte("error")):
			return skipNull(dec)
		case bytes.EqualFold(key, []byte("choices")):
			return plainChoices(dec)
		}
		return dec.SkipValue() == nil
	})
	// encoding/json refuses anything after the value but spaces.
	cs.plain = ok && len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) == 0
}

// appendRenamed appends data with the values of its members "model"
// replaced by name, as renamer.rename would (for a plain chunk, whose
// member names have no escapes).
func (cs *chunkScan) appendRenamed(dst, data, name []byte) []byte {
	at := int64(0)
	for i := 0; i+1 < len(cs.models); i += 2 {
		dst = append(append(dst, data[at:cs.models[i]]...), name...)
		at = cs.models[i+1]
	}
	return append(dst, data[at:]...)
}

// plainChoices reads a chunk's choices (null, or an array of objects or
// nulls) and reports whether none has a finish reason.
func plainChoices(dec *jsontext.Decoder) bool {
	if dec.PeekKind() == 'n' {
		return dec.SkipValue() == nil
	}
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '[' {
		return false
	}
	for dec.PeekKind() != ']' {
		if dec.PeekKind() == 'n' {
			if dec.SkipValue() != nil {
				return false
			}
			continue
		}
		ok := eachMember(dec, func(key []byte) bool {
			switch {
			case bytes.EqualFold(key, []byte("finish_reason")):
				return skipNull(dec)
			case bytes.EqualFold(key, []byte("index")):
				return readIndex(dec)
			}
			return dec.SkipValue() == nil
		})
		if !ok {
			return false
		}
	}
	_, err := dec.ReadToken()
	return err == nil
}

// eachMember reads an object, calling member with each member's name
// (without its quotes) to read the member's value; false if the next
// value is not an object, a name has an escape, or member says false.
func eachMember(dec *jsontext.Decoder, member func(key []byte) bool) bool {
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
		return false
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil || name.Kind() != '"' {
			return false
		}
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 || !member(key) {
			return false
		}
	}
	_, err := dec.ReadToken()
	return err == nil
}

// skipNull reads a value that must be null.
func skipNull(dec *jsontext.Decoder) bool {
	return dec.PeekKind() == 'n' && dec.SkipValue() == nil
}

// readIndex reads a choice's index: null or an integer that surely fits
// an int (up to 9 digits, so an int32 too), as encoding/json takes it; a
// longer one is left to encoding/json.
func readIndex(dec *jsontext.Decoder) bool {
	v, err := dec.ReadValue()
	if err != nil {
		return false
	}
	switch v.Kind() {
	case 'n':
		return true
	case '0':
		digits := bytes.TrimPrefix(v, []byte("-"))
		return len(digits) <= 9 && !bytes.ContainsAny(digits, ".eE")
	}
	return false
}
