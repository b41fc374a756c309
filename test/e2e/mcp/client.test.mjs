// Drives `loom mcp` over stdio with the official TypeScript SDK's Client,
// as a third-party MCP client would. Run by run.sh with node --test; LOOM
// is the binary, and LOOM_MODEL / LOOM_BASE_URL point at llmtest playing
// agent-script.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

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
    'repo_map', 'syntax_check']) {
    assert.ok(byName[name], `missing tool ${name}`);
    assert.equal(byName[name].inputSchema.type, 'object');
  }
  assert.equal(byName.shell, undefined, 'shell is offered without --allow-shell');
  assert.equal(byName.grep.annotations.readOnlyHint, true);
  assert.equal(byName.apply_changes.annotations.destructiveHint, true);
  assert.equal(byName.loom_agent.outputSchema.type, 'object');
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
  assert.equal(res.structuredContent.thread_id, '');
  assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3]);
  assert.equal(readFileSync(join(dir, 'greet.go'), 'utf8'), greet, 'loom_agent wrote without apply');
});
