// Hands long jobs to Ralph loops through `loom mcp` with the official
// TypeScript SDK's Client: loom_ralph_start returns the loop's ID at once,
// loom_ralph_status is polled until the loop ends, each iteration's thread
// is read back with thread_show, and loom_ralph_stop stops a loop after
// its current iteration. The model is llmtest ($LLMTEST, one process per
// loop with its own script). Run by run.sh with node --test; LOOM is the
// binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const loom = process.env.LOOM;
const llmtest = process.env.LLMTEST;
const git = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' };
// A hang guard only: a loop that never ends fails the test, however fast.
const hangGuardMs = 60_000;

const text = (res) => res.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
const edit = (path, old_text, new_text) => ({ name: 'edit_file', arguments: { path, old_text, new_text } });

// model starts llmtest on a script and returns its URL and a stop function.
async function model(turns) {
  const dir = mkdtempSync(join(tmpdir(), 'loom-ralph-model-'));
  writeFileSync(join(dir, 'script.json'), JSON.stringify({ turns }));
  const child = spawn(llmtest, ['-script', join(dir, 'script.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`llmtest exited ${code}`)));
  });
  return { url, stop: () => { child.kill(); rmSync(dir, { recursive: true, force: true }); } };
}

function repo() {
  const dir = mkdtempSync(join(tmpdir(), 'loom-ralph-repo-'));
  writeFileSync(join(dir, 'a.txt'), 'one\n');
  writeFileSync(join(dir, 'PROMPT.md'), 'Make a.txt say two.\n');
  for (const args of [['init', '-q'], ['add', '.'], ['commit', '-q', '-m', 'start']]) {
    execFileSync('git', args, { cwd: dir, env: { ...process.env, ...git } });
  }
  return dir;
}

async function connect(root, url) {
  const client = new Client({ name: 'loom-e2e-ralph', version: '1.0.0' });
  await client.connect(new StdioClientTransport({
    command: loom, args: ['mcp', '--root', root, '--allow-shell'],
    env: { ...process.env, ...git, LOOM_MODEL: 'test-model', LOOM_BASE_URL: url, LOOM_API_KEY: '', OPENAI_API_KEY: '' },
    stderr: 'ignore',
  }));
  return client;
}

async function until(what, cond) {
  const deadline = Date.now() + hangGuardMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    assert.ok(Date.now() < deadline, `waited ${hangGuardMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function finished(client, id) {
  return until(`loop ${id} to end`, async () => {
    const res = await client.callTool({ name: 'loom_ralph_status', arguments: { id } });
    assert.ok(!res.isError, text(res));
    return res.structuredContent.running ? null : res.structuredContent;
  });
}

function gitLog(dir) {
  return execFileSync('git', ['log', '--format=%s'], { cwd: dir, encoding: 'utf8' }).trim().split('\n');
}

test('a loop handed off with loom_ralph_start runs to done; each iteration has its thread and commit', async () => {
  const m = await model([
    { tool_calls: [edit('a.txt', 'one', 'two')] },
    { text: '<commit>a: two</commit>' },
    { text: 'All done.\n<promise>FINISHED</promise>' },
  ]);
  const root = repo();
  const client = await connect(root, m.url);
  try {
    const { tools } = await client.listTools();
    const start = tools.find((t) => t.name === 'loom_ralph_start');
    assert.equal(start.annotations.destructiveHint, true);
    assert.equal(tools.find((t) => t.name === 'loom_ralph_status').annotations.readOnlyHint, true);
    const res = await client.callTool({ name: 'loom_ralph_start', arguments: {
      prompt_file: 'PROMPT.md', checks: ['grep -q two a.txt'], promise: 'FINISHED', commit: true, max_iterations: 3 } });
    assert.ok(!res.isError, text(res));
    const { id } = res.structuredContent;
    assert.match(id, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
    const rec = await finished(client, id);
    assert.equal(rec.state, 'done', rec.why);
    assert.equal(rec.iterations.length, 2);
    assert.deepEqual(rec.iterations.map((it) => it.checks.map((c) => c.passed)), [[true], [true]]);
    assert.ok(rec.iterations[0].commit, 'iteration 1 has no commit');
    for (const it of rec.iterations) {
      const th = await client.callTool({ name: 'thread_show', arguments: { id: it.thread } });
      assert.ok(!th.isError, text(th));
      assert.match(text(th), new RegExp(`ralph ${id} #${it.n}`));
    }
    assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'two\n');
    assert.deepEqual(gitLog(root), ['a: two', 'start']);
  } finally {
    await client.close();
    m.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('loom_ralph_stop ends the loop after its current iteration, whole', async () => {
  const gate = mkdtempSync(join(tmpdir(), 'loom-ralph-gate-'));
  const started = join(gate, 'started');
  const release = join(gate, 'release');
  const m = await model([
    { tool_calls: [edit('a.txt', 'one', 'two'),
      { name: 'shell', arguments: { command: `touch '${started}'; while [ ! -e '${release}' ]; do sleep 0.05; done` } }] },
    { text: '<commit>first step</commit>' },
    { text: 'an iteration a stopped loop never starts' },
  ]);
  const root = repo();
  const client = await connect(root, m.url);
  try {
    const none = await client.callTool({ name: 'loom_ralph_stop', arguments: {} });
    assert.ok(none.isError);
    assert.match(text(none), /no Ralph loop is running/);
    const res = await client.callTool({ name: 'loom_ralph_start', arguments: { prompt: 'Step by step.', commit: true, max_iterations: 5 } });
    assert.ok(!res.isError, text(res));
    const { id } = res.structuredContent;
    await until('iteration 1\'s command to start', () => existsSync(started));
    const stop = await client.callTool({ name: 'loom_ralph_stop', arguments: { id } });
    assert.ok(!stop.isError, text(stop));
    assert.equal(stop.structuredContent.id, id);
    writeFileSync(release, '');
    const rec = await finished(client, id);
    assert.equal(rec.state, 'stopped', rec.why);
    assert.equal(rec.why, 'stopped by request after iteration 1');
    assert.equal(rec.iterations.length, 1);
    assert.ok(rec.iterations[0].commit && rec.iterations[0].thread);
    assert.deepEqual(gitLog(root), ['first step', 'start']);
  } finally {
    await client.close();
    m.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(gate, { recursive: true, force: true });
  }
});
