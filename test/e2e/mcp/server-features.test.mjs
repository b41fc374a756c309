// Drives what `loom mcp` serves besides tools with the official TypeScript
// SDK's Client: prompts and completion, resources and subscriptions, log
// notifications, and loom_agent on the client's own model through sampling
// (no model is configured on Loom's side: LOOM_MODEL and LOOM_BASE_URL are
// emptied), over stdio and over streamable HTTP. Run by run.sh with
// node --test; LOOM is the binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const loom = process.env.LOOM;
const noModel = { LOOM_MODEL: '', LOOM_BASE_URL: '', LOOM_API_KEY: '', OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' };
const buggy = 'package calc\n\nfunc Add(a, b int) int { return a - b }\n';

let dir;
let outside;
before(() => {
  assert.ok(loom, 'LOOM must name the loom binary');
  outside = mkdtempSync(join(tmpdir(), 'loom-mcp-outside-'));
  writeFileSync(join(outside, 'secret.txt'), 's3cret\n');
});
after(() => rmSync(outside, { recursive: true, force: true }));

function project() {
  dir = mkdtempSync(join(tmpdir(), 'loom-mcp-features-'));
  writeFileSync(join(dir, 'go.mod'), 'module calc\n');
  writeFileSync(join(dir, 'calc.go'), buggy);
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));
  return dir;
}

// samplingClient is a client whose model is scripted: it fixes calc.go
// with edit_file when offered tools, then says so. Requests are kept.
function samplingClient(name) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: { tools: {} } } });
  const requests = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    requests.push(req.params);
    if (requests.length === 1 && req.params.tools?.length) {
      return {
        role: 'assistant', model: 'client-model', stopReason: 'toolUse',
        content: [{ type: 'tool_use', id: 'c1', name: 'edit_file', input: { path: 'calc.go', old_text: 'a - b', new_text: 'a + b' } }],
      };
    }
    return { role: 'assistant', model: 'client-model', stopReason: 'endTurn', content: { type: 'text', text: 'Fixed Add on the client model.' } };
  });
  return { client, requests };
}

async function fixThroughSampling(client, requests, root) {
  const res = await client.callTool({ name: 'loom_agent', arguments: { task: 'fix Add', apply: true } });
  const text = res.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
  assert.ok(!res.isError, text);
  assert.match(text, /Fixed Add on the client model\./);
  assert.equal(readFileSync(join(root, 'calc.go'), 'utf8'), buggy.replace('a - b', 'a + b'));
  assert.ok(requests.length >= 2, `${requests.length} sampling requests`);
  assert.ok(requests[0].tools.some((t) => t.name === 'edit_file'), 'the tools were not offered to the client model');
  assert.ok(requests[0].systemPrompt, 'no system prompt');
  const history = JSON.stringify(requests.at(-1).messages);
  assert.match(history, /"toolUseId":"c1"/);
}

test('stdio: prompts, completion, resources, subscriptions, logging and loom_agent on the client model', async () => {
  const root = project();
  const { client, requests } = samplingClient('loom-e2e-features');
  const transport = new StdioClientTransport({ command: loom, args: ['mcp', '--root', root], env: { ...process.env, ...noModel }, stderr: 'ignore' });
  await client.connect(transport);
  try {
    const caps = client.getServerCapabilities();
    assert.ok(caps.prompts && caps.resources?.subscribe && caps.logging && caps.completions, JSON.stringify(caps));

    // Prompts, with the file argument completed from the workspace.
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['document', 'edit', 'explain', 'fix', 'write_tests']);
    const done = await client.complete({ ref: { type: 'ref/prompt', name: 'fix' }, argument: { name: 'file', value: 'ca' } });
    assert.deepEqual(done.completion.values, ['calc.go']);
    const fix = await client.getPrompt({ name: 'fix', arguments: { file: 'calc.go', selection: 'return a - b' } });
    assert.match(fix.messages[0].content.text, /^Fix the bugs in the selected code of calc\.go\./);
    assert.equal(fix.messages[1].content.type, 'resource');
    assert.equal(fix.messages[1].content.resource.text, buggy);
    await assert.rejects(client.getPrompt({ name: 'fix', arguments: { file: 'link.txt' } }), /outside/);

    // Resources: files within the roots only, the repo map.
    const uri = pathToFileURL(join(root, 'calc.go')).href;
    const read = await client.readResource({ uri });
    assert.equal(read.contents[0].text, buggy);
    await assert.rejects(client.readResource({ uri: pathToFileURL(join(outside, 'secret.txt')).href }), /outside/);
    await assert.rejects(client.readResource({ uri: pathToFileURL(join(root, 'link.txt')).href }), /outside/);
    const map = await client.readResource({ uri: 'loom://repomap' });
    assert.match(map.contents[0].text, /Add/);

    // Logging: records at or above the level the client set.
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    await client.setLoggingLevel('info');

    // Subscriptions: the change the agent applies is told.
    const updated = new Promise((resolve) => client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
    await client.subscribeResource({ uri });

    // loom_agent with no model configured: the client's model does the work.
    await fixThroughSampling(client, requests, root);
    assert.equal(await updated, uri);
    assert.ok(logs.some((l) => l.level === 'info' && /loom_agent/.test(JSON.stringify(l.data))), JSON.stringify(logs));
    assert.ok(logs.every((l) => l.level !== 'debug'), 'a debug record was sent at level info');
  } finally {
    await client.close();
    rmSync(root, { recursive: true, force: true });
  }
});

// startHTTP runs `loom mcp --http 127.0.0.1:0 --no-auth` with no model and
// resolves with its URL.
function startHTTP(root) {
  const child = spawn(loom, ['mcp', '--http', '127.0.0.1:0', '--no-auth', '--root', root], {
    env: { ...process.env, ...noModel, LOOM_MCP_TOKEN: '' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const url = line.match(/^loom mcp: serving (\S+)$/);
      if (url) resolve({ child, url: url[1] });
    });
    child.on('exit', (code) => reject(new Error(`loom mcp --http exited (${code}) before serving`)));
  });
}

test('streamable HTTP: loom_agent on the client model through sampling', async () => {
  const root = project();
  const server = await startHTTP(root);
  const { client, requests } = samplingClient('loom-e2e-features-http');
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    await fixThroughSampling(client, requests, root);
  } finally {
    await client.close();
    server.child.kill();
    rmSync(root, { recursive: true, force: true });
  }
});

test('elicitation: a command of loom_agent runs only once the client\'s user allows it', async () => {
  for (const allow of [true, false]) {
    const root = project();
    const client = new Client({ name: 'loom-e2e-consent', version: '1.0.0' },
      { capabilities: { sampling: { tools: {} }, elicitation: { form: {} } } });
    let calls = 0;
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      calls++;
      if (calls === 1) {
        return { role: 'assistant', model: 'client-model', stopReason: 'toolUse',
          content: [{ type: 'tool_use', id: 's1', name: 'shell', input: { command: 'echo made > made.txt' } }] };
      }
      return { role: 'assistant', model: 'client-model', stopReason: 'endTurn', content: { type: 'text', text: 'done' } };
    });
    const asked = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { allow } };
    });
    await client.connect(new StdioClientTransport({ command: loom, args: ['mcp', '--root', root], env: { ...process.env, ...noModel }, stderr: 'ignore' }));
    try {
      const res = await client.callTool({ name: 'loom_agent', arguments: { task: 'make made.txt' } });
      assert.ok(!res.isError, JSON.stringify(res.content));
      assert.equal(asked.length, 1);
      assert.match(asked[0], /echo made > made\.txt/);
      assert.equal(existsSync(join(root, 'made.txt')), allow, `allow=${allow}`);
    } finally {
      await client.close();
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('elicitation: the edit prompt asks its instruction of a client that can ask, and is refused by one that cannot', async () => {
  const root = project();
  const asking = new Client({ name: 'loom-e2e-edit', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  const asked = [];
  asking.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(req.params);
    return { action: 'accept', content: { instruction: 'rename Add to Sum' } };
  });
  const plain = new Client({ name: 'loom-e2e-edit-plain', version: '1.0.0' });
  const env = { ...process.env, ...noModel };
  await asking.connect(new StdioClientTransport({ command: loom, args: ['mcp', '--root', root], env, stderr: 'ignore' }));
  await plain.connect(new StdioClientTransport({ command: loom, args: ['mcp', '--root', root], env, stderr: 'ignore' }));
  try {
    const { prompts } = await asking.listPrompts();
    const edit = prompts.find((p) => p.name === 'edit');
    assert.equal(edit.arguments.find((a) => a.name === 'instruction').required ?? false, false);
    const res = await asking.getPrompt({ name: 'edit', arguments: { file: 'calc.go' } });
    assert.equal(asked.length, 1);
    assert.match(asked[0].message, /calc\.go/);
    assert.deepEqual(asked[0].requestedSchema.required, ['instruction']);
    assert.match(res.messages[0].content.text, /^rename Add to Sum/);
    await assert.rejects(plain.getPrompt({ name: 'edit', arguments: { file: 'calc.go' } }),
      /"instruction" is required \(this client cannot be asked for it/);
    const given = await plain.getPrompt({ name: 'edit', arguments: { file: 'calc.go', instruction: 'add a comment' } });
    assert.match(given.messages[0].content.text, /^add a comment/);
  } finally {
    await asking.close();
    await plain.close();
    rmSync(root, { recursive: true, force: true });
  }
});
