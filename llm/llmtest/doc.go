// Package llmtest is a scripted stand-in for a model server, for tests. It
// is a real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions
// protocol (POST /v1/chat/completions, streaming as SSE "data: {...}" chunks
// ending with "data: [DONE]", or a single JSON answer when the request has
// "stream": false), Anthropic's Messages API (POST /v1/messages, streaming
// as "event: NAME" / "data: {...}" frames from message_start through
// content_block_start/delta/stop to message_delta and message_stop, or a
// single message) and GET /v1/models. The same script plays in either
// format. Each model request is answered by the next turn of a script; every request is recorded so a
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
//     round-robin instead of one call after another (OpenAI's format only:
//     Anthropic's streams one content block at a time).
//   - finish_reason: defaults to "tool_calls" when there are tool calls,
//     else "stop". Anthropic's format sends stop as end_turn, tool_calls
//     as tool_use, length as max_tokens, content_filter as refusal, and
//     any other value verbatim.
//   - usage: prompt_tokens and completion_tokens, and the parts of the
//     prompt read from and written to a prompt cache, cache_read_tokens and
//     cache_creation_tokens; defaults to rough estimates. OpenAI's format
//     sends it as a final chunk when the request asks for it
//     (stream_options.include_usage; cache reads as
//     prompt_tokens_details.cached_tokens), always in non-streaming answers;
//     Anthropic's in message_start (input_tokens being the uncached rest) and
//     message_delta (output_tokens).
//   - fault: see below. A turn is consumed by the request it answers, faulty
//     or not, so a retry is answered by the next turn.
//
// Fault fields:
//   - status: answer with this HTTP status (400-599) and an error body in
//     the request's format, built from message, type and code (all
//     optional): OpenAI's {"error": {"message", "type", "param", "code"}},
//     or Anthropic's {"type": "error", "error": {"type", "message"}}, whose
//     type defaults to the API's own for the status (429 rate_limit_error,
//     529 overloaded_error, ...).
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
//   - stream_error_after: send this many SSE chunks, then an error inside
//     the stream, of type and message (default: an overload), and end it:
//     Anthropic's "error" event, or OpenAI's "data: {"error": ...}".
//
// stall_after_headers, stall_after and endless apply to streamed answers.
//
// In Anthropic's format the server refuses, with the API's 400
// invalid_request_error and without using up a turn, what the API refuses:
// no anthropic-version header, no max_tokens, roles that do not alternate
// from "user", empty text blocks, a tool_use not answered by a tool_result
// in the next message (or a result for no call), a tool without an
// input_schema, more than four cache_control breakpoints.
//
// Recorded requests (Server.Requests, or the -record file of the command)
// hold the method, path, headers, the raw body, the decoded request (Body
// for chat completions: model, messages, tools, stream, stream_options,
// max_tokens, temperature; Messages for Anthropic's: model, max_tokens,
// system, messages as content blocks, tools, cache_control) and the index
// of the turn that answered (-1 if none).
package llmtest
