package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxModelList bounds the model list read: a large router lists a few
// hundred models in well under a megabyte.
const maxModelList = 16 << 20

// ListModels asks the endpoint of cfg which models it serves: GET /models
// of the OpenAI-compatible API, or of Anthropic's (both answer
// {"data": [{"id": ...}]}), within ctx and cfg's bounds. `loom doctor`
// uses it to tell a wrong base URL or model name before a run does.
func ListModels(ctx context.Context, cfg Config) ([]string, error) {
	prov, err := lookupProvider(cfg.Provider)
	if err != nil {
		return nil, err
	}
	cfg, base, err := prepare(cfg, prov.defaultBaseURL, "the base URL must be an http or https URL")
	if err != nil {
		return nil, err
	}
	ep := endpoint{baseURL: base, model: cfg.Model, keySet: cfg.APIKey != "", from: cfg.From, api: prov.name}
	url := base + "/models"
	if prov.name == "anthropic" && !strings.HasSuffix(base, "/v1") {
		url = base + "/v1/models"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, classify(ctx, err, ep, nil)
	}
	if prov.name == "anthropic" {
		req.Header.Set("Anthropic-Version", anthropicVersion)
		if cfg.APIKey != "" {
			req.Header.Set("X-Api-Key", cfg.APIKey)
		}
	} else if cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	resp, err := newHTTPClient(cfg).Do(req)
	if err != nil {
		return nil, classify(ctx, err, ep, nil)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList))
	if err != nil {
		return nil, classify(ctx, err, ep, nil)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, bodyExcerpt(body))
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("GET %s: not a model list (%v): %s", url, err, bodyExcerpt(body))
	}
	ids := make([]string, len(list.Data))
	for i, m := range list.Data {
		ids[i] = m.ID
	}
	return ids, nil
}
