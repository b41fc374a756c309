// Package llm is Loom's boundary to language models: a small streaming
// Provider interface with Loom's own message, tool and event types,
// providers chosen by name (New; ProviderNames lists them): an
// OpenAI-compatible one (OpenAI, Ollama, llama.cpp, vLLM, LM Studio,
// OpenRouter, ...) and Anthropic's Messages API with prompt caching; a
// retrying wrapper, error classification with messages a
// person can act on, and configuration loading (flags, environment, config
// file). Every call is bounded: connecting, the wait for the first byte of
// the answer, the silence between its parts and its whole length are timed
// out as retryable errors that say which bound fired and how to raise it,
// each request carries an output cap, and an answer too large or not a
// stream is refused.
//
// The agent depends only on the types here, never on the HTTP client library
// underneath, so providers can be swapped or faked without touching it.
//
// A typical use:
//
//	cfg, err := llm.LoadConfig(llm.Config{Model: *modelFlag})
//	if err != nil { ... }           // errors.Is(err, llm.ErrNoModel) explains how to configure one
//	p, err := llm.New(cfg)         // cfg.Provider: "openai" (default) or "anthropic"
//	if err != nil { ... }
//	p2 := llm.WithRetry(p, llm.RetryPolicy{OnRetry: showWaiting})
//	s, err := p2.Stream(ctx, llm.Request{Messages: msgs, Tools: tools})
//	if err != nil { ... }
//	defer s.Close()
//	for {
//		ev, err := s.Recv()
//		if err == io.EOF { break }
//		...
//	}
//
// Package llmtest provides a scripted model server for tests, speaking both
// providers' protocols.
package llm
