// What both SDK drivers share: a fetch that keeps a copy of every response
// the SDK receives (status, headers, body, streams included), the tools
// they offer, and the report they print.
//
// Environment: LOOM_URL (the team server), LOOM_KEY (an API key with
// use_model), MODELS (comma-separated: one model routed to an OpenAI-format
// upstream, one to an Anthropic-format one).

const received = [];
const pending = [];

// recordingFetch is the SDKs' fetch: the response goes to the SDK as it
// came, while its clone is read alongside (so streams are not held).
export async function recordingFetch(url, init) {
  const res = await fetch(url, init);
  const copy = res.clone();
  pending.push(copy.text().then((body) => {
    received.push({ url: String(url), status: res.status, headers: Object.fromEntries(res.headers), body });
  }));
  return res;
}

export const env = {
  url: must('LOOM_URL'),
  key: must('LOOM_KEY'),
  models: must('MODELS').split(','),
};

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// The tools, as JSON Schema; each SDK wraps them its own way.
export const tools = [
  {
    name: 'read_file',
    description: 'Read a file of the workspace.',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'grep',
    description: 'Search the workspace.',
    parameters: { type: 'object', properties: { pattern: { type: 'string' } }, required: ['pattern'] },
  },
];

export const question = 'Where is main defined, and what does it call?';

// failure describes an error the SDK threw, for the report; expected says
// whether it is an instance of the SDK's class Expected.
export function failure(err, Expected) {
  return {
    class: err?.constructor?.name ?? typeof err,
    expected: err instanceof Expected,
    status: err?.status ?? 0,
    type: err?.error?.type === 'error' ? err.error.error?.type : (err?.error?.type ?? err?.type ?? ''),
    message: String(err?.message ?? err),
  };
}

// report prints the results and everything received, once every copy is read.
export async function report(results) {
  await Promise.all(pending);
  process.stdout.write(JSON.stringify({ results, received }) + '\n');
}
