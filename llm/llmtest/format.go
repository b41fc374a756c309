package llmtest

import "net/http"

// wireFormat is one provider's protocol: how its requests are read, and its
// answers and errors written. The same script plays in every format.
type wireFormat interface {
	// decode reads a request body, recording it in rec, or says why the
	// real API would refuse it.
	decode(raw []byte, h http.Header, rec *RecordedRequest) (request, error)
	// writeError answers with an error status in the format's shape; an
	// empty typ means the format's usual type for the status.
	writeError(w http.ResponseWriter, status int, msg, typ, code string)
	// frames are the streamed answer; whole is the answer in one object.
	frames(a answer, includeUsage bool) frames
	whole(a answer) any
	// streamError is the frame of an error inside a stream that had begun.
	streamError(typ, msg string) []byte
}

// request is what the server needs to know of a model request.
type request struct {
	model        string
	stream       bool
	includeUsage bool
}

// frames is a streamed answer: SSE frames ready to write, the frame that
// ends the stream (if the format has one apart from its events), and which
// frames carry the text (textFrames of them from textStart; an endless
// fault repeats them).
type frames struct {
	all                   [][]byte
	done                  []byte
	textStart, textFrames int
}
