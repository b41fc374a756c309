package acp

import (
	"context"
	"fmt"
	"slices"

	sdk "github.com/coder/acp-go-sdk"
)

// modelOption is the ID of the session config option that picks the model.
const modelOption = "model"

// configOptions lists the session's options with their current values:
// the model, chosen among Options.Models.
func (sess *session) configOptions() []sdk.SessionConfigOption {
	if len(sess.srv.opts.Models) == 0 {
		return nil
	}
	sess.mu.Lock()
	current := sess.model
	sess.mu.Unlock()
	choices := make(sdk.SessionConfigSelectOptionsUngrouped, 0, len(sess.srv.opts.Models))
	for _, m := range sess.srv.opts.Models {
		choices = append(choices, sdk.SessionConfigSelectOption{Name: m, Value: sdk.SessionConfigValueId(m)})
	}
	return []sdk.SessionConfigOption{{Select: &sdk.SessionConfigOptionSelect{
		Id:           modelOption,
		Name:         "Model",
		Description:  sdk.Ptr("The model the agent uses from the next prompt on"),
		Category:     sdk.Ptr(sdk.SessionConfigOptionCategoryModel),
		CurrentValue: sdk.SessionConfigValueId(current),
		Options:      sdk.SessionConfigSelectOptions{Ungrouped: &choices},
		Type:         "select",
	}}}
}

// SetSessionConfigOption changes the session's model.
func (s *Server) SetSessionConfigOption(ctx context.Context, p sdk.SetSessionConfigOptionRequest) (sdk.SetSessionConfigOptionResponse, error) {
	v := p.ValueId
	if v == nil {
		return sdk.SetSessionConfigOptionResponse{}, sdk.NewInvalidParams(map[string]any{"error": "the model option takes a value ID, not a boolean"})
	}
	sess, err := s.session(v.SessionId)
	if err != nil {
		return sdk.SetSessionConfigOptionResponse{}, err
	}
	if v.ConfigId != modelOption {
		return sdk.SetSessionConfigOptionResponse{}, sdk.NewInvalidParams(map[string]any{"error": fmt.Sprintf("unknown config option %q; Loom has %q", v.ConfigId, modelOption)})
	}
	model := string(v.Value)
	if !slices.Contains(s.opts.Models, model) {
		return sdk.SetSessionConfigOptionResponse{}, sdk.NewInvalidParams(map[string]any{"error": fmt.Sprintf("unknown model %q; choose one of %v", model, s.opts.Models)})
	}
	sess.mu.Lock()
	sess.model = model
	sess.mu.Unlock()
	return sdk.SetSessionConfigOptionResponse{ConfigOptions: sess.configOptions()}, nil
}
