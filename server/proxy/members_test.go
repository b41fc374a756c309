package proxy

import (
	"encoding/json"
	"testing"
)

func TestSetMembers(t *testing.T) {
	usage := func(old []byte) []byte {
		opts := map[string]any{}
		if old != nil && string(old) != "null" {
			json.Unmarshal(old, &opts)
		}
		opts["include_usage"] = true
		return mustJSON(opts)
	}
	for _, tc := range []struct {
		name, in, want string
		askUsage       bool
	}{
		{"renamed in place", `{"model": "gpt", "messages": [{"role":"user","content":"model: \"x\""}], "n" : 1}`,
			`{"model": "gpt-4o-mini", "messages": [{"role":"user","content":"model: \"x\""}], "n" : 1}`, false},
		{"nested model untouched", `{"metadata":{"model":"keep"},"model":"gpt"}`, `{"metadata":{"model":"keep"},"model":"gpt-4o-mini"}`, false},
		{"repeated key: every one", `{"model":"a","model":"b"}`, `{"model":"gpt-4o-mini","model":"gpt-4o-mini"}`, false},
		{"missing added first", `{"messages":[]}`, `{"model":"gpt-4o-mini","messages":[]}`, false},
		{"empty object", ` { } `, ` {"model":"gpt-4o-mini" } `, false},
		{"usage asked", `{"model":"gpt","stream":true}`, `{"stream_options":{"include_usage":true},"model":"gpt-4o-mini","stream":true}`, true},
		{"usage merged", `{"model":"gpt","stream_options":{"x":1}}`, `{"model":"gpt-4o-mini","stream_options":{"include_usage":true,"x":1}}`, true},
		{"usage over null", `{"stream_options":null,"model":"gpt"}`, `{"stream_options":{"include_usage":true},"model":"gpt-4o-mini"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := map[string]func([]byte) []byte{"model": setString("gpt-4o-mini")}
			if tc.askUsage {
				set["stream_options"] = usage
			}
			got, err := setMembers([]byte(tc.in), set)
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
		})
	}
	for _, bad := range []string{`[1]`, `{"model":}`, `{"model":"a"`, `"x"`, ``} {
		if got, err := setMembers([]byte(bad), map[string]func([]byte) []byte{"model": setString("m")}); err == nil {
			t.Errorf("%s accepted: %s", bad, got)
		}
	}
}
