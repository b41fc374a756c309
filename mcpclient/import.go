package mcpclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
)

// ImportResult says what Import did with each server found.
type ImportResult struct {
	Added []Found
	// Replaced were already configured under their name and, with force,
	// were replaced.
	Replaced []Found
	Skipped  []Skipped
}

// Skipped is a server Import left out, and why.
type Skipped struct {
	Found
	Why string
}

// Import adds found to the mcpServers of Loom's config file at path. A
// name already configured there is skipped (an identical entry quietly,
// another with a note) unless force, as is a second server of one name
// and one Loom cannot run. Everything else in the file is kept as it was,
// key order included; the file is replaced atomically, keeping its mode
// (0600 when it is new). With dryRun nothing is written. A config file
// that cannot be parsed is an error, and is left as it is.
func Import(path string, found []Found, force, dryRun bool) (ImportResult, error) {
	var res ImportResult
	if path == "" {
		return res, errors.New("no config file: set HOME or XDG_CONFIG_HOME")
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	if len(data) > maxConfigSize {
		return res, fmt.Errorf("%s: over %d bytes", path, maxConfigSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	top, err := parseObject(data)
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	current, err := Parse(data)
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	servers := object{}
	if raw, ok := top.get("mcpServers"); ok && string(raw) != "null" {
		if servers, err = parseObject(raw); err != nil {
			return res, fmt.Errorf("%s: mcpServers: %w", path, err)
		}
	}

	taken := map[string]string{} // name → the file that gave it in this import
	for _, f := range found {
		skip := func(why string) { res.Skipped = append(res.Skipped, Skipped{f, why}) }
		if f.Err != nil {
			skip(f.Err.Error())
			continue
		}
		if !serverName().MatchString(f.Name) {
			skip("a name Loom can use is 1 to 64 letters, digits, _ or -")
			continue
		}
		if _, err := f.Config.transport(); err != nil {
			skip(err.Error())
			continue
		}
		if from, ok := taken[f.Name]; ok {
			skip("a server of this name was already imported from " + from)
			continue
		}
		old, exists := current.Servers[f.Name]
		switch {
		case exists && reflect.DeepEqual(old, f.Config):
			skip("already configured, the same")
			continue
		case exists && !force:
			skip("a different server of this name is already configured (--force replaces it)")
			continue
		}
		entry, err := json.Marshal(f.Config)
		if err != nil {
			return res, err
		}
		servers.set(f.Name, entry)
		taken[f.Name] = f.From
		if exists {
			res.Replaced = append(res.Replaced, f)
		} else {
			res.Added = append(res.Added, f)
		}
	}
	if dryRun || len(res.Added)+len(res.Replaced) == 0 {
		return res, nil
	}
	top.set("mcpServers", servers.marshal())
	out, err := indent(top.marshal())
	if err != nil {
		return res, err
	}
	// The result must read back as a valid list before it replaces the file.
	if _, err := Parse(out); err != nil {
		return res, fmt.Errorf("the merged list: %w", err)
	}
	return res, writeAtomic(path, out, modeOf(path))
}

// object is a JSON object whose keys keep their order.
type object struct {
	keys   []string
	values map[string]json.RawMessage
}

func parseObject(data []byte) (object, error) {
	o := object{values: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil {
		return o, err
	} else if t != json.Delim('{') {
		return o, errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return o, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return o, err
		}
		o.set(t.(string), v)
	}
	if _, err := dec.Token(); err != nil {
		return o, err
	}
	if _, err := dec.Token(); err == nil {
		return o, errors.New("more after the JSON object")
	}
	return o, nil
}

func (o *object) get(k string) (json.RawMessage, bool) {
	v, ok := o.values[k]
	return v, ok
}

func (o *object) set(k string, v json.RawMessage) {
	if o.values == nil {
		o.values = map[string]json.RawMessage{}
	}
	if _, ok := o.values[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.values[k] = v
}

func (o object) marshal() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		b.Write(key)
		b.WriteByte(':')
		b.Write(o.values[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func indent(data []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// modeOf is the permissions of the file at path, or 0600 for a new one.
func modeOf(path string) fs.FileMode {
	if st, err := os.Stat(path); err == nil {
		return st.Mode().Perm()
	}
	return 0o600
}

// writeAtomic replaces the file at path (following a link to it) with
// data, with permissions perm, creating its folder (0700) if need be.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".loom-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
