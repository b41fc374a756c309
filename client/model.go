package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Endpoint is a team server as the local agent's model provider: its
// OpenAI-compatible API (the LLM proxy), the token `loom login` stored,
// and the model to ask for.
type Endpoint struct {
	Server string
	// BaseURL is the proxy's OpenAI-compatible API: Server + "/v1".
	BaseURL string
	Token   string
	Model   string
}

// ErrNotSignedIn means there is no stored sign-in to use.
var ErrNotSignedIn = errors.New("not signed in to a team server")

// ModelEndpoint returns the server signed in to (o.Server, or the one
// signed in to last) as a model provider. model names the model; empty
// asks the server for the models it offers and takes its first. It is
// ErrNotSignedIn when there is no stored sign-in.
func ModelEndpoint(ctx context.Context, o Options, model string) (*Endpoint, error) {
	server, token, err := load(o)
	if err != nil {
		return nil, err // ErrNotSignedIn, or a credentials file that cannot be read
	}
	e := &Endpoint{Server: server, BaseURL: server + "/v1", Token: token, Model: model}
	if model != "" {
		return e, nil
	}
	body, err := call(ctx, o, "GET", server, token, "/v1/models")
	if err != nil {
		return nil, fmt.Errorf("asking %s for its models: %w", server, err)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("reading %s/v1/models: %w", server, err)
	}
	if len(list.Data) == 0 || list.Data[0].ID == "" {
		return nil, fmt.Errorf("%s offers you no models: ask its admin", server)
	}
	e.Model = list.Data[0].ID
	return e, nil
}
