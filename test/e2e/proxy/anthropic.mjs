// Drives Loom's LLM proxy with the official `@anthropic-ai/sdk` package, as
// an agent would: for each model, a streamed turn with tools (assembled by
// the SDK's MessageStream), the tool results sent back, and a whole (not
// streamed) answer; then a model the server does not serve, streamed and
// not. Prints what the SDK assembled and what it received (record.mjs).
import Anthropic from '@anthropic-ai/sdk';
import { env, failure, question, recordingFetch, report, tools } from './record.mjs';

const client = new Anthropic({ apiKey: env.key, baseURL: env.url, fetch: recordingFetch, maxRetries: 0 });
const defs = tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));

// summary is an answer in the shape the Go test compares.
function summary(message, events) {
  const u = message.usage;
  return {
    chunks: events,
    model: message.model,
    text: message.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    tool_calls: message.content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) })),
    finish: message.stop_reason,
    usage: { input: u.input_tokens, output: u.output_tokens, cached: u.cache_read_input_tokens ?? 0 },
  };
}

const results = { runs: [] };
for (const model of env.models) {
  const messages = [{ role: 'user', content: question }];
  const stream = client.messages.stream({ model, max_tokens: 1024, messages, tools: defs });
  let events = 0;
  stream.on('streamEvent', () => events++);
  const streamed = await stream.finalMessage();
  // The assistant's content goes back as the SDK assembled it, with a
  // result for each of its calls.
  messages.push({ role: 'assistant', content: streamed.content });
  messages.push({
    role: 'user',
    content: streamed.content.filter((b) => b.type === 'tool_use').map((b) => ({ type: 'tool_result', tool_use_id: b.id, content: `result of ${b.name}` })),
  });
  const whole = await client.messages.create({ model, max_tokens: 1024, messages, tools: defs });
  results.runs.push({ model, streamed: summary(streamed, events), whole: summary(whole, 0) });
}

const unknown = { model: 'no-such-model', max_tokens: 64, messages: [{ role: 'user', content: question }] };
results.errors = [];
for (const stream of [false, true]) {
  try {
    const r = await client.messages.create({ ...unknown, stream });
    if (stream) for await (const _ of r);
    results.errors.push({ stream, class: 'none' });
  } catch (err) {
    results.errors.push({ stream, ...failure(err, Anthropic.NotFoundError) });
  }
}

// A wrong key: the SDK's own AuthenticationError, streamed or not, and
// listing the models.
const wrong = new Anthropic({ apiKey: 'loom_AAAAAAAAAAAA_not-a-key', baseURL: client.baseURL, fetch: recordingFetch, maxRetries: 0 });
results.auth = [];
for (const what of ['call', 'stream', 'models']) {
  try {
    if (what === 'models') await wrong.models.list();
    else {
      const stream = what === 'stream';
      const r = await wrong.messages.create({ ...unknown, model: env.models[0], stream });
      if (stream) for await (const _ of r);
    }
    results.auth.push({ what, class: 'none' });
  } catch (err) {
    results.auth.push({ what, ...failure(err, Anthropic.AuthenticationError) });
  }
}
await report(results);
