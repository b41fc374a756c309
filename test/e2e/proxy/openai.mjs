// Drives Loom's LLM proxy with the official `openai` package, as an agent
// would: for each model, a streamed turn with tools (assembled by the SDK's
// own stream helper), the tool results sent back, and a whole (not
// streamed) answer; then a model the server does not serve, streamed and
// not. Prints what the SDK assembled and what it received (record.mjs).
import OpenAI from 'openai';
import { env, failure, question, recordingFetch, report, tools } from './record.mjs';

const client = new OpenAI({ apiKey: env.key, baseURL: env.url + '/v1', fetch: recordingFetch, maxRetries: 0 });
const fns = tools.map((t) => ({ type: 'function', function: t }));

// summary is an answer in the shape the Go test compares.
function summary(completion, chunks) {
  const choice = completion.choices[0];
  const u = completion.usage;
  return {
    chunks,
    model: completion.model,
    text: choice.message.content ?? '',
    tool_calls: (choice.message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
    finish: choice.finish_reason,
    usage: u ? { input: u.prompt_tokens, output: u.completion_tokens, cached: u.prompt_tokens_details?.cached_tokens ?? 0 } : null,
  };
}

const results = { runs: [] };
for (const model of env.models) {
  const messages = [{ role: 'user', content: question }];
  const stream = client.chat.completions.stream({ model, messages, tools: fns, stream_options: { include_usage: true } });
  let chunks = 0;
  stream.on('chunk', () => chunks++);
  const streamed = await stream.finalChatCompletion();
  // The assistant's message goes back as the SDK assembled it, with a
  // result for each of its calls.
  const said = streamed.choices[0].message;
  messages.push(said);
  for (const call of said.tool_calls ?? []) {
    messages.push({ role: 'tool', tool_call_id: call.id, content: `result of ${call.function.name}` });
  }
  const whole = await client.chat.completions.create({ model, messages, tools: fns });
  results.runs.push({ model, streamed: summary(streamed, chunks), whole: summary(whole, 0) });
}

const unknown = { model: 'no-such-model', messages: [{ role: 'user', content: question }] };
results.errors = [];
for (const stream of [false, true]) {
  try {
    const r = await client.chat.completions.create({ ...unknown, stream });
    if (stream) for await (const _ of r);
    results.errors.push({ stream, class: 'none' });
  } catch (err) {
    results.errors.push({ stream, ...failure(err, OpenAI.NotFoundError) });
  }
}

// A wrong key: the SDK's own AuthenticationError, streamed or not, and
// listing the models.
const wrong = new OpenAI({ apiKey: 'loom_AAAAAAAAAAAA_not-a-key', baseURL: client.baseURL, fetch: recordingFetch, maxRetries: 0 });
results.auth = [];
for (const what of ['call', 'stream', 'models']) {
  try {
    if (what === 'models') await wrong.models.list();
    else {
      const stream = what === 'stream';
      const r = await wrong.chat.completions.create({ model: env.models[0], messages: unknown.messages, stream });
      if (stream) for await (const _ of r);
    }
    results.auth.push({ what, class: 'none' });
  } catch (err) {
    results.auth.push({ what, ...failure(err, OpenAI.AuthenticationError) });
  }
}
await report(results);
