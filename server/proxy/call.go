package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/usage"
)

// call is one client request on its way through the proxy.
type call struct {
	p      *Proxy
	w      http.ResponseWriter
	r      *http.Request
	client format
	raw    []byte // the client's body
	model  *model
	asked  string // the model name the client asked for
	stream bool
	// includeUsage: an OpenAI client asked for the usage chunk (the proxy
	// always asks the upstream for it, to meter the call).
	includeUsage bool

	// ended: the upstream's stream came to its end, all of it passed on.
	ended bool

	// What the meter records.
	used   tokens
	status int
	err    string
}

// serve handles a model call in client format f.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, f format) {
	start := time.Now()
	who := auth.From(r.Context())
	if who == nil {
		p.refuse(w, r, f, http.StatusUnauthorized, policy.ErrUnauthenticated)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, f, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", p.maxBody))
			return
		}
		fail(w, f, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	var head struct {
		Model         string         `json:"model"`
		Stream        bool           `json:"stream"`
		StreamOptions *streamOptions `json:"stream_options"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		fail(w, f, http.StatusBadRequest, "the request body is not a JSON object: "+err.Error())
		return
	}
	if head.Model == "" {
		fail(w, f, http.StatusBadRequest, "model: the model to use is missing")
		return
	}
	m := p.cat.models[head.Model]
	if m == nil {
		fail(w, f, http.StatusNotFound, fmt.Sprintf("model %q is not served here; GET /v1/models lists those you may use", head.Model))
		return
	}
	ctx, org, status, err := p.orgOf(r, who)
	if err == nil {
		err = p.mayUse(ctx, who, org, m.name)
	}
	if err != nil {
		if errors.Is(err, policy.ErrForbidden) {
			status, err = http.StatusForbidden, fmt.Errorf("you may not use model %q", m.name)
		}
		p.refuse(w, r, f, status, err)
		return
	}
	ticket, err := p.meter.Admit(r.Context(), usage.Request{Principal: who, Org: org, Model: m.name, Upstream: m.routes[0].up.name, Endpoint: f.String(), Stream: head.Stream})
	if err != nil {
		p.refuseAdmission(w, r, f, err)
		return
	}
	c := &call{p: p, w: w, r: r, client: f, raw: raw, model: m, asked: head.Model, stream: head.Stream,
		includeUsage: head.StreamOptions != nil && head.StreamOptions.IncludeUsage}
	c.forward()
	// The meter prices tokens read from the cache apart from the rest.
	ticket.Done(usage.Usage{InputTokens: max(0, c.used.Input-c.used.CacheRead), OutputTokens: c.used.Output, CachedTokens: c.used.CacheRead,
		Status: c.status, Err: c.err, Latency: time.Since(start)})
}

// refuseAdmission answers the meter's refusal: 429 with Retry-After for a
// limit, 402 for a spent budget.
func (p *Proxy) refuseAdmission(w http.ResponseWriter, r *http.Request, f format, err error) {
	var limit *usage.LimitError
	switch {
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", retryAfterSeconds(limit.RetryAfter))
		fail(w, f, http.StatusTooManyRequests, limit.Error())
	case errors.Is(err, usage.ErrBudgetSpent):
		fail(w, f, http.StatusPaymentRequired, err.Error())
	default:
		p.log.ErrorContext(r.Context(), "proxy: metering", "err", err)
		fail(w, f, http.StatusInternalServerError, "metering the call failed")
	}
}

// forward tries the model's routes in order until one answers; the next
// is tried only while the client has had nothing.
func (c *call) forward() {
	var last error
	for i, rt := range c.model.routes {
		committed, err := c.try(rt)
		if err == nil || committed {
			return
		}
		if clientGone(c.r.Context()) {
			c.status, c.err = 499, "the client went away"
			return
		}
		last = err
		var ue *upstreamError
		if !errors.As(err, &ue) || !ue.retry {
			break
		}
		if i < len(c.model.routes)-1 {
			c.p.log.WarnContext(c.r.Context(), "proxy: upstream failed, trying the next", "model", c.model.name, "err", ue.Error())
		}
	}
	c.answerError(last)
}

// answerError answers the error that ended an uncommitted call.
func (c *call) answerError(err error) {
	var ue *upstreamError
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		c.status, c.err = http.StatusBadRequest, bad.msg
		fail(c.w, c.client, c.status, bad.msg)
	case errors.As(err, &ue):
		c.status, c.err = ue.clientStatus(), ue.Error()
		if ue.status == http.StatusTooManyRequests && ue.retryAfter != "" {
			c.w.Header().Set("Retry-After", ue.retryAfter)
		}
		c.p.log.WarnContext(c.r.Context(), "proxy: call failed", "model", c.model.name, "status", c.status, "err", ue.Error())
		fail(c.w, c.client, c.status, ue.clientMessage())
	default:
		c.status, c.err = http.StatusBadGateway, err.Error()
		fail(c.w, c.client, c.status, "the call failed")
	}
}

// bodyFor is the request for rt's upstream: the client's own with the
// model renamed when the formats agree (every field the client sent
// reaches the upstream), else translated.
func (c *call) bodyFor(rt route) ([]byte, error) {
	body, err := c.translate(rt)
	if err != nil || !rt.vertexClaude() {
		return body, err
	}
	return vertexBody(body)
}

// translate is the request in rt's format.
func (c *call) translate(rt route) ([]byte, error) {
	up := rt.format
	if up == c.client {
		return passThrough(c.raw, rt.model, c.stream && up == openAIFormat)
	}
	if c.client == openAIFormat {
		var in chatRequest
		if err := json.Unmarshal(c.raw, &in); err != nil {
			return nil, badf("the request is not a chat-completions request: %v", err)
		}
		out, err := chatToMessages(in, rt.model, c.model.maxTokens)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
	var in messagesRequest
	if err := json.Unmarshal(c.raw, &in); err != nil {
		return nil, badf("the request is not a Messages API request: %v", err)
	}
	out, err := messagesToChat(in, rt.model, rt.up.kind)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// vertexBody is a Messages API request as Claude on Vertex takes it: the
// model named by the URL rather than the body, the API's version in the
// body rather than a header.
func vertexBody(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, badf("the request body is not a JSON object: %v", err)
	}
	delete(m, "model")
	m["anthropic_version"] = mustJSON(vertexVersion)
	return json.Marshal(m)
}

// passThrough renames the model of a request; for an OpenAI stream it
// also asks for the usage chunk, which metering needs. The rest of the
// body passes as it came.
func passThrough(raw []byte, model string, askUsage bool) ([]byte, error) {
	set := map[string]func([]byte) []byte{"model": setString(model)}
	var bad error
	if askUsage {
		set["stream_options"] = func(old []byte) []byte {
			opts := map[string]json.RawMessage{}
			if len(old) > 0 && string(old) != "null" {
				if err := json.Unmarshal(old, &opts); err != nil {
					bad = badf("stream_options: %v", err)
				}
			}
			opts["include_usage"] = json.RawMessage("true")
			return mustJSON(opts)
		}
	}
	out, err := setMembers(raw, set)
	if err != nil {
		return nil, badf("the request body is not a JSON object: %v", err)
	}
	return out, bad
}

// try calls one route. committed reports that the client has had the
// answer's status (after which no other upstream may be tried).
func (c *call) try(rt route) (committed bool, err error) {
	body, err := c.bodyFor(rt)
	if err != nil {
		return false, err
	}
	cn, err := c.p.send(c.r.Context(), rt, body, c.client, c.r.Header, c.stream)
	if err != nil {
		return false, err
	}
	if !c.stream {
		defer cn.release()
		return c.whole(cn, rt)
	}
	committed, err = c.pipe(cn, rt)
	if c.ended {
		cn.finish()
	} else {
		cn.release()
	}
	return committed, err
}

// whole answers a call that is not streamed.
func (c *call) whole(cn *conn, rt route) (bool, error) {
	b, err := cn.readWhole(rt.up.name)
	if err != nil {
		return false, err
	}
	notJSON := func(err error) error {
		return &upstreamError{up: rt.up.name, msg: "the answer is not a JSON " + rt.format.String() + " answer", retry: true}
	}
	out := newRenamer(c.asked).rename(b, false)
	switch {
	case rt.format == openAIFormat:
		var cc chatCompletion
		if err := json.Unmarshal(b, &cc); err != nil {
			return false, notJSON(err)
		}
		if cc.Usage != nil {
			c.used = cc.Usage.tokens()
		}
		if c.client == anthropicFormat {
			out = mustJSON(chatToAnthropic(cc, c.asked))
		}
	default:
		var ar anthResponse
		if err := json.Unmarshal(b, &ar); err != nil {
			return false, notJSON(err)
		}
		c.used = ar.Usage.tokens()
		if c.client == openAIFormat {
			out = mustJSON(anthropicToChat(ar, c.asked))
		}
	}
	c.status = http.StatusOK
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(out)
	return true, nil
}

// pipe streams the answer to the client event by event, translating when
// the formats differ. The first event is read before anything is sent, so
// an upstream that fails at once leaves the next one to be tried.
func (c *call) pipe(cn *conn, rt route) (bool, error) {
	up := rt.format
	rd := newSSEReader(cn.resp.Body)
	defer rd.release()
	dec := newDecoder(up, rt.up.name, up == c.client)
	defer func() { c.used = dec.state().usage }()
	ev, err := rd.next()
	if err == io.EOF {
		return false, &upstreamError{up: rt.up.name, msg: "the stream ended before its first event", retry: true}
	}
	if err != nil {
		return false, transportError(cn.ctx, rt.up.name, err)
	}
	ds, err := dec.decode(ev)
	if err != nil {
		var ue *upstreamError
		if !errors.As(err, &ue) {
			ue = &upstreamError{up: rt.up.name, msg: err.Error(), retry: true}
		}
		return false, ue
	}
	c.status = http.StatusOK
	sw := newSSEWriter(c.w)
	var enc encoder
	var rn *renamer
	if up == c.client {
		rn = newRenamer(c.asked)
	} else {
		if c.client == openAIFormat {
			enc = newChatEncoder(sw, c.asked, c.includeUsage)
		} else {
			enc = newAnthEncoder(sw, c.asked)
		}
	}
	var renamed []byte // reused from one chunk to the next
	emit := func(ev sseEvent, ds []delta) {
		switch {
		case enc != nil:
			enc.write(ds)
		case up == openAIFormat:
			d := dec.(*chatDecoder)
			switch {
			case d.usageOnly && !c.includeUsage:
				// The usage chunk the proxy asked for, not the client.
			case d.scan.plain:
				// The decoder's scan found the model already.
				renamed = d.scan.appendRenamed(renamed[:0], ev.data, rn.name)
				sw.event("", renamed)
				if cap(renamed) > maxKeptEvent {
					renamed = nil
				}
			default:
				sw.event("", rn.rename(ev.data, false))
			}
		case ev.name == "message_start":
			sw.event(ev.name, rn.rename(ev.data, true))
		default:
			sw.event(ev.name, ev.data)
		}
	}
	emit(ev, ds)
	// failure is why the stream ended early, for the client.
	var failure *upstreamError
	for !dec.state().done && sw.err == nil {
		// What was written goes to the client before the proxy waits on
		// the upstream; events that came together go in one write.
		if !rd.ready() {
			sw.flush()
		}
		if ev, err = rd.next(); err != nil {
			break
		}
		if ds, err = dec.decode(ev); err != nil {
			if !errors.As(err, &failure) {
				failure = &upstreamError{up: rt.up.name, msg: err.Error()}
			}
			break
		}
		emit(ev, ds)
	}
	st := dec.state()
	switch {
	case sw.err != nil || clientGone(c.r.Context()):
		c.status, c.err = 499, "the client went away"
		return true, nil
	case st.done || failure != nil:
	case err == io.EOF && up == openAIFormat && st.finish != "":
		// A server that ends its stream without [DONE] but finished.
		st.done = true
		if enc == nil {
			sw.event("", []byte("[DONE]"))
		}
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		failure = &upstreamError{up: rt.up.name, msg: "the stream ended before the answer was finished"}
	default:
		failure = transportError(cn.ctx, rt.up.name, err)
	}
	if failure != nil {
		c.err = failure.Error()
		c.p.log.WarnContext(c.r.Context(), "proxy: stream failed", "model", c.model.name, "err", c.err)
		streamFailure(sw, c.client, failure.clientMessage())
		return true, nil
	}
	if enc != nil {
		enc.end(st)
	}
	sw.flush()
	c.ended = true
	return true, nil
}
