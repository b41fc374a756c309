// Package llmtest is a scripted stand-in for an OpenAI-compatible model
// server, for tests. It is a real HTTP server on 127.0.0.1 that speaks the
// chat-completions protocol (POST /v1/chat/completions, streaming as SSE
// "data: {...}" chunks ending with "data: [DONE]", or a single JSON answer
// when the request has "stream": false) and GET /v1/models. Each chat request
// is answered by the next turn of a script; every request is recorded so a
// test can assert what the client sent. Turns can inject faults: an error
// status with Retry-After, a stream cut off midway, malformed tool-call
// arguments, delays, answers that stall or never end. When the script runs
// out, the server answers 500 with a message saying so, so a test that asks
// for more than it scripted fails clearly.
//
// Use it in-process with NewServer (or Start), or as a separate process with
// the command in llmtest/cmd/llmtest, which prints its base URL
// (http://127.0.0.1:PORT/v1) as the first line of stdout.
//
// # Script format
//
// A script is JSON (or the Script type in Go):
//
//	{
//	  "model": "llmtest",                  // optional: the id listed by /v1/models
//	  "turns": [
//	    {"text": "Hello there"},           // streamed word by word
//	    {"text": "Let me look.",           // text and tool calls together
//	     "tool_calls": [
//	       {"name": "grep", "arguments": {"pattern": "func main"}},
//	       {"id": "call_7", "name": "read", "arguments": {"path": "a.go"}, "chunks": 5}
//	     ]},
//	    {"tool_calls": [{"name": "read", "arguments": "{\"path\": "}]},   // a string is sent verbatim
//	    {"fault": {"status": 429, "retry_after": "1"}},                    // then the next turn answers the retry
//	    {"fault": {"status": 401, "message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}},
//	    {"text": "partial answer", "fault": {"cut_after": 2}},            // connection closed after 2 chunks, no [DONE]
//	    {"text": "slow", "fault": {"delay_ms": 300, "chunk_delay_ms": 20}},
//	    {"text": "never sent", "fault": {"stall_after_headers": true}},   // a model that hangs
//	    {"text": "again and ", "fault": {"endless": true, "chunk_delay_ms": 5}},
//	    {"text": "done", "usage": {"prompt_tokens": 12, "completion_tokens": 3}, "finish_reason": "stop"}
//	  ]
//	}
//
// (Comments are for this description only; JSON has none.)
//
// Turn fields:
//   - text: the assistant's text, streamed in word-sized chunks.
//   - tool_calls: calls streamed after the text, each with index, id and name
//     in its first chunk and the arguments split over "chunks" pieces
//     (default 3). "arguments" is any JSON value (sent as its compact text)
//     or a JSON string (sent verbatim, so it may be malformed). "id" defaults
//     to call_<turn>_<n>.
//   - interleave_tool_calls: stream the argument pieces of parallel calls
//     round-robin instead of one call after another.
//   - finish_reason: defaults to "tool_calls" when there are tool calls,
//     else "stop".
//   - usage: prompt_tokens and completion_tokens; defaults to rough
//     estimates. Sent as a final chunk when the request asks for it
//     (stream_options.include_usage), always in non-streaming answers.
//   - fault: see below. A turn is consumed by the request it answers, faulty
//     or not, so a retry is answered by the next turn.
//
// Fault fields:
//   - status: answer with this HTTP status (400-599) and an OpenAI-shaped
//     error body {"error": {"message", "type", "param", "code"}} built from
//     message, type and code (all optional).
//   - retry_after: Retry-After header value, a string ("1", or an HTTP-date)
//     or a number of seconds.
//   - cut_after: close the connection after this many SSE chunks (the first
//     chunk carries only the role), without "data: [DONE]"; "cut": true with
//     no cut_after closes it before any response is written.
//   - malformed_arguments: drop the last character of every tool call's
//     arguments, so they are not valid JSON.
//   - delay_ms: wait before answering; chunk_delay_ms: wait between chunks.
//   - stall: read the request and never answer; stall_after_headers: send
//     a stream's status and headers, then nothing; stall_after: send this
//     many SSE chunks, then nothing. The connection stays open until the
//     client leaves or the server closes.
//   - endless: stream the turn's text (which it needs) over and over,
//     chunk_delay_ms apart, and never finish.
//
// stall_after_headers, stall_after and endless apply to streamed answers.
//
// Recorded requests (Server.Requests, or the -record file of the command)
// hold the method, path, headers, the raw body, the decoded chat request
// (model, messages, tools, stream, stream_options, max_tokens, temperature)
// and the index of the turn that answered (-1 if none).
package llmtest
