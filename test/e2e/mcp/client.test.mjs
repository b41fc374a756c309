// Drives `loom mcp` over stdio, and over streamable HTTP with the token it
// writes to its token file, with the official TypeScript SDK's Client, as a
// third-party MCP client would. Run by run.sh with node --test; LOOM is the
// binary, and LOOM_MODEL / LOOM_BASE_URL point at llmtest playing
// agent-script.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const loom = process.env.LOOM;
const greet = 'package main\n\nfunc greeting() string { return "hi" }\n';
const wantDiff =
  'diff --git a/greet.go b/greet.go\n--- a/greet.go\n+++ b/greet.go\n@@ -1,3 +1,3 @@\n' +
  ' package main\n \n-func greeting() string { return "hi" }\n+func greeting() string { return "hello" }\n';

let dir;
let client;

before(async () => {
  assert.ok(loom, 'LOOM must name the loom binary');
  dir = mkdtempSync(join(tmpdir(), 'loom-mcp-e2e-'));
  writeFileSync(join(dir, 'go.mod'), 'module demo\n');
  writeFileSync(join(dir, 'main.go'), 'package main\n\nfunc main() {\n\tprintln(greeting())\n}\n');
  writeFileSync(join(dir, 'greet.go'), greet);
  const transport = new StdioClientTransport({
    command: loom,
    args: ['mcp', '--root', dir],
    env: { ...process.env },
    stderr: 'inherit',
  });
  client = new Client({ name: 'loom-e2e', version: '1.0.0' });
  await client.connect(transport);
});

after(async () => {
  await client?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const text = (res) => res.content.filter((c) => c.type === 'text').map((c) => c.text).join('');

test('tools/list offers the agent, the file and analysis tools, with annotations', async () => {
  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const name of ['loom_agent', 'apply_changes', 'read_file', 'list_dir', 'glob', 'grep', 'write_file',
    'edit_file', 'apply_patch', 'move_file', 'delete_file', 'outline', 'find_symbol', 'find_references',
    'repo_map', 'syntax_check', 'threads_search', 'thread_show']) {
    assert.ok(byName[name], `missing tool ${name}`);
    assert.equal(byName[name].inputSchema.type, 'object');
  }
  assert.equal(byName.shell, undefined, 'shell is offered without --allow-shell');
  assert.equal(byName.grep.annotations.readOnlyHint, true);
  assert.equal(byName.apply_changes.annotations.destructiveHint, true);
  // Over MCP the editing tools only return a diff: read-only, not destructive.
  assert.equal(byName.edit_file.annotations.readOnlyHint, true);
  assert.equal(byName.edit_file.annotations.destructiveHint, false);
  assert.equal(byName.loom_agent.outputSchema.type, 'object');
  assert.equal(byName.threads_search.annotations.readOnlyHint, true);
  assert.equal(byName.thread_show.annotations.readOnlyHint, true);
});

test('grep finds the definition', async () => {
  const res = await client.callTool({ name: 'grep', arguments: { pattern: 'func greeting' } });
  assert.ok(!res.isError, text(res));
  assert.match(text(res), /^greet\.go:3:func greeting\(\) string/m);
  assert.equal(res.structuredContent.total, 1);
});

test('outline lists the functions of a file', async () => {
  const res = await client.callTool({ name: 'outline', arguments: { path: 'main.go' } });
  assert.ok(!res.isError, text(res));
  assert.match(text(res), /function main\s+L3-5/i);
});

test('a bad path is a tool error with a readable message', async () => {
  const res = await client.callTool({ name: 'read_file', arguments: { path: '../../etc/passwd' } });
  assert.equal(res.isError, true);
  assert.match(text(res), /outside the workspace root/);
});

test('loom_agent edits through the model, reports progress and returns the exact diff', async () => {
  const progress = [];
  const res = await client.callTool(
    { name: 'loom_agent', arguments: { task: 'say hello instead of hi', files: ['greet.go'] } },
    undefined,
    { onprogress: (p) => progress.push(p) },
  );
  assert.ok(!res.isError, text(res));
  assert.equal(res.structuredContent.diff, wantDiff);
  assert.deepEqual(res.structuredContent.files_changed, ['greet.go']);
  assert.equal(res.structuredContent.summary, 'Changed the greeting to hello.');
  assert.equal(res.structuredContent.applied, false);
  assert.match(res.structuredContent.thread_id, /^[0-9a-z]{10}$/);
  assert.match(text(res), new RegExp(`Thread ${res.structuredContent.thread_id}: pass it as thread_id`));
  assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3]);
  assert.equal(readFileSync(join(dir, 'greet.go'), 'utf8'), greet, 'loom_agent wrote without apply');
  threadID = res.structuredContent.thread_id;
});

// The thread of the loom_agent run above.
let threadID;

test('threads_search finds the run and thread_show reads it', async () => {
  assert.ok(threadID, 'the loom_agent test did not run');
  const found = await client.callTool({ name: 'threads_search', arguments: { query: 'hello', workspace: '.' } });
  assert.ok(!found.isError, text(found));
  assert.equal(found.structuredContent.hits.length, 1);
  const [hit] = found.structuredContent.hits;
  assert.equal(hit.id, threadID);
  assert.equal(hit.title, 'say hello instead of hi');
  assert.equal(hit.status, 'done');
  assert.match(hit.snippet, /«hello»/);
  assert.ok(!Number.isNaN(Date.parse(hit.updated)), hit.updated);
  assert.match(text(found), new RegExp(`^${threadID}  `));

  const shown = await client.callTool({ name: 'thread_show', arguments: { id: threadID.slice(0, 6) } });
  assert.ok(!shown.isError, text(shown));
  assert.match(text(shown), /^# say hello instead of hi$/m);
  assert.ok(text(shown).includes(wantDiff), text(shown));

  const none = await client.callTool({ name: 'thread_show', arguments: { id: 'zzzzzzzzzz' } });
  assert.equal(none.isError, true);
  assert.match(text(none), /is unknown/);
});

test('loom_agent with thread_id continues the conversation', async () => {
  assert.ok(threadID, 'the loom_agent test did not run');
  const res = await client.callTool({ name: 'loom_agent', arguments: { task: 'does it say hello now?', thread_id: threadID } });
  assert.ok(!res.isError, text(res));
  assert.equal(res.structuredContent.thread_id, threadID);
  assert.equal(res.structuredContent.summary, 'It says hello now.');
});

// startHTTP runs `loom mcp --http 127.0.0.1:0` on dir and resolves with its
// URL and the token read from the token file it names on stderr.
function startHTTP(dir) {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'loom-mcp-run-'));
  const child = spawn(loom, ['mcp', '--http', '127.0.0.1:0', '--root', dir], {
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, LOOM_MCP_TOKEN: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let tokenFile;
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      const file = line.match(/^loom mcp: token file (\S+) /);
      if (file) tokenFile = file[1];
      const url = line.match(/^loom mcp: serving (\S+)$/);
      if (url) {
        assert.ok(tokenFile, 'no token file was printed before the URL');
        resolve({ child, runtimeDir, url: url[1], token: readFileSync(tokenFile, 'utf8').trim() });
      }
    });
    child.on('exit', (code) => reject(new Error(`loom mcp --http exited (${code}) before serving`)));
  });
}

test('over HTTP: the token from the token file opens a session; without it, 401; DELETE ends the session', async () => {
  const server = await startHTTP(dir);
  try {
    const http = new Client({ name: 'loom-e2e-http', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${server.token}` } },
    });
    await http.connect(transport);
    assert.ok(transport.sessionId, 'the server issued no session');
    const res = await http.callTool({ name: 'grep', arguments: { pattern: 'func greeting' } });
    assert.ok(!res.isError, text(res));
    assert.match(text(res), /^greet\.go:3:/m);

    // Another client, without the token, gets nowhere, even with the session id.
    const stranger = await fetch(server.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': transport.sessionId, 'Mcp-Protocol-Version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    assert.equal(stranger.status, 401);
    const noToken = new Client({ name: 'stranger', version: '1.0.0' });
    await assert.rejects(noToken.connect(new StreamableHTTPClientTransport(new URL(server.url))),
      (err) => err.code === 401 && /bearer token/.test(err.message));

    // DELETE ends the session: the id is then unknown (404).
    const ended = transport.sessionId;
    await transport.terminateSession();
    const reused = await fetch(server.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        Authorization: `Bearer ${server.token}`, 'Mcp-Session-Id': ended, 'Mcp-Protocol-Version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/list' }),
    });
    assert.equal(reused.status, 404);
    await http.close();
  } finally {
    server.child.kill('SIGTERM');
    rmSync(server.runtimeDir, { recursive: true, force: true });
  }
});
