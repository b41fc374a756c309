// Drives `loom lsp` with VS Code's own client library
// (vscode-languageserver-protocol), advertising what VS Code advertises:
// versioned documentChanges with file operations, codeAction/resolve,
// work-done progress, showDocument. The model is llmtest, scripted per test.
//
//   LOOM=/abs/loom LLMTEST=/abs/llmtest node --test   (run.sh sets both)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import lsp from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';

const {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  InitializeRequest, InitializedNotification, DidOpenTextDocumentNotification,
  CodeActionRequest, CodeActionResolveRequest, ExecuteCommandRequest,
  ApplyWorkspaceEditRequest, WorkDoneProgressCreateRequest, ShowDocumentRequest,
  ShowMessageNotification, PublishDiagnosticsNotification, ShutdownRequest, ExitNotification,
  TextDocumentContentRequest, DocumentSymbolRequest,
} = lsp;

const LOOM = process.env.LOOM;
const LLMTEST = process.env.LLMTEST;
assert.ok(LOOM && LLMTEST, 'set LOOM and LLMTEST (run.sh does)');

const GREET = 'package main\n\n// 😀 你好: greeting greets.\nfunc greeting() string { return "hi 😀" }\n';

// startModel runs llmtest with a script and resolves to its base URL.
async function startModel(t, turns) {
  const dir = mkdtempSync(join(tmpdir(), 'loom-llm-'));
  writeFileSync(join(dir, 'script.json'), JSON.stringify({ turns }));
  const proc = spawn(LLMTEST, ['-script', join(dir, 'script.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { proc.kill(); rmSync(dir, { recursive: true, force: true }); });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`llmtest exited with ${code}`)));
  });
  return line.trim();
}

// startServer spawns `loom lsp` in a fresh project and connects to it.
async function startServer(t, modelURL) {
  const dir = mkdtempSync(join(tmpdir(), 'loom-proj-'));
  writeFileSync(join(dir, 'go.mod'), 'module demo\n\ngo 1.22\n');
  writeFileSync(join(dir, 'greet.go'), GREET);
  const env = {
    ...process.env, LOOM_MODEL: 'llmtest', LOOM_BASE_URL: modelURL, LOOM_API_KEY: '', OPENAI_API_KEY: '',
    XDG_CONFIG_HOME: join(dir, '.config'), XDG_CACHE_HOME: join(dir, '.cache'),
    // Each server its own threads, so a search sees this test's runs only.
    LOOM_DB: join(dir, '.cache', 'threads.db'),
  };
  const proc = spawn(LOOM, ['lsp'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const seen = { edits: [], progress: [], messages: [], shown: [], diagnostics: new Map() };
  conn.onRequest(ApplyWorkspaceEditRequest.type, (p) => { seen.edits.push(p.edit); return { applied: true }; });
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => null);
  conn.onRequest(ShowDocumentRequest.type, (p) => { seen.shown.push(p.uri); return { success: true }; });
  conn.onNotification(ShowMessageNotification.type, (p) => seen.messages.push(p.message));
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => seen.diagnostics.set(p.uri, p.diagnostics));
  conn.onNotification('$/progress', (p) => seen.progress.push(p.value.kind));
  conn.listen();
  t.after(async () => {
    try {
      await conn.sendRequest(ShutdownRequest.type);
      await conn.sendNotification(ExitNotification.type);
    } catch { /* already gone */ }
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    if (proc.exitCode === null && !(await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(r, 3000, false))]))) {
      proc.kill();
    }
    conn.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    capabilities: {
      general: { positionEncodings: ['utf-16'] },
      workspace: {
        applyEdit: true,
        workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] },
        textDocumentContent: {},
      },
      window: { workDoneProgress: true, showDocument: { support: true } },
      textDocument: {
        codeAction: {
          codeActionLiteralSupport: { codeActionKind: { valueSet: ['', 'quickfix', 'refactor'] } },
          dataSupport: true,
          resolveSupport: { properties: ['edit', 'command'] },
        },
        documentSymbol: { hierarchicalDocumentSymbolSupport: true },
      },
    },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  const uri = pathToFileURL(join(dir, 'greet.go')).href;
  await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'go', version: 3, text: GREET } });
  return { conn, init, dir, uri, seen };
}

async function action(conn, uri, title, diagnostics = []) {
  const range = { start: { line: 3, character: 0 }, end: { line: 3, character: 42 } };
  const actions = await conn.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range, context: { diagnostics } });
  const found = actions.find((a) => a.title === title);
  assert.ok(found, `no ${title} among ${actions.map((a) => a.title)}`);
  assert.equal(found.command, undefined, 'with resolve support the command comes from codeAction/resolve');
  const resolved = await conn.sendRequest(CodeActionResolveRequest.type, found);
  assert.equal(resolved.command.command, 'loom.run');
  return resolved;
}

test('Fix: code action → resolve → loom.run → versioned documentChanges in UTF-16', async (t) => {
  const model = await startModel(t, [
    { tool_calls: [{ name: 'edit_file', arguments: { path: 'greet.go', old_text: '"hi 😀"', new_text: '"héllo 😀 世界"' } }] },
    { text: 'Fixed.' },
  ]);
  const { conn, init, dir, uri, seen } = await startServer(t, model);
  assert.equal(init.capabilities.positionEncoding, 'utf-16');
  assert.deepEqual(init.capabilities.executeCommandProvider.commands, ['loom.run', 'loom.searchThreads', 'loom.showThread']);

  const symbols = await conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } });
  assert.deepEqual(symbols.map((s) => [s.name, s.selectionRange.start]), [['greeting', { line: 3, character: 5 }]]);

  const diag = { range: { start: { line: 3, character: 0 }, end: { line: 3, character: 8 } }, message: 'greeting is too terse' };
  const fix = await action(conn, uri, 'Loom: Fix', [diag]);
  const result = await conn.sendRequest(ExecuteCommandRequest.type, fix.command);
  assert.equal(result.applied, true);
  assert.equal(result.final, 'Fixed.');

  assert.equal(seen.edits.length, 1);
  const [change] = seen.edits[0].documentChanges;
  assert.equal(change.textDocument.uri, uri);
  assert.equal(change.textDocument.version, 3, 'the edit names the open buffer version');
  // VS Code's own TextDocument applies the edits with UTF-16 offsets.
  const doc = TextDocument.create(uri, 'go', 3, GREET);
  assert.equal(TextDocument.applyEdits(doc, change.edits), GREET.replace('"hi 😀"', '"héllo 😀 世界"'));
  assert.equal(readFileSync(join(dir, 'greet.go'), 'utf8'), GREET, 'the server must not write the file');
  assert.deepEqual([seen.progress[0], seen.progress.at(-1)], ['begin', 'end']);
  assert.ok(seen.progress.includes('report'), `progress: ${seen.progress}`);
});

test('Write tests: a new file arrives as a create operation', async (t) => {
  const content = 'package main\n\nimport "testing"\n\nfunc TestGreeting(t *testing.T) {}\n';
  const model = await startModel(t, [
    { tool_calls: [{ name: 'write_file', arguments: { path: 'greet_test.go', content } }] },
    { text: 'Added a test.' },
  ]);
  const { conn, dir, uri, seen } = await startServer(t, model);
  const tests = await action(conn, uri, 'Loom: Write tests');
  assert.equal((await conn.sendRequest(ExecuteCommandRequest.type, tests.command)).applied, true);
  const newURI = pathToFileURL(join(dir, 'greet_test.go')).href;
  const [create, edit] = seen.edits[0].documentChanges;
  assert.deepEqual(create, { kind: 'create', uri: newURI });
  assert.equal(edit.textDocument.uri, newURI);
  assert.equal(edit.textDocument.version, null);
  assert.equal(TextDocument.applyEdits(TextDocument.create(newURI, 'go', 0, ''), edit.edits), content);
});

test('Explain: the answer is shown as a document served from memory', async (t) => {
  const model = await startModel(t, [{ text: '`greeting` returns a **friendly** string.' }]);
  const { conn, uri, seen } = await startServer(t, model);
  const explain = await action(conn, uri, 'Loom: Explain');
  const result = await conn.sendRequest(ExecuteCommandRequest.type, explain.command);
  assert.equal(result.applied, false);
  assert.equal(seen.edits.length, 0);
  assert.equal(seen.shown.length, 1);
  assert.match(seen.shown[0], /^loom:/);
  const doc = await conn.sendRequest(TextDocumentContentRequest.type, { uri: seen.shown[0] });
  assert.equal(doc.text, '`greeting` returns a **friendly** string.');
});

test('Threads: loom.run is recorded, found, shown and continued', async (t) => {
  const model = await startModel(t, [{ text: 'It returns a friendly greeting.' }, { text: 'Yes, in French too.' }]);
  const { conn, seen } = await startServer(t, model);
  const first = await conn.sendRequest(ExecuteCommandRequest.type,
    { command: 'loom.run', arguments: [{ instruction: 'what does greeting return?', answer: true }] });
  assert.match(first.threadId, /^[0-9a-z]{10}$/);

  const hits = await conn.sendRequest(ExecuteCommandRequest.type, { command: 'loom.searchThreads', arguments: [{ query: 'friendly' }] });
  assert.equal(hits.length, 1);
  assert.deepEqual(Object.keys(hits[0]).sort(), ['id', 'snippet', 'title', 'updated']);
  assert.equal(hits[0].id, first.threadId);
  assert.equal(hits[0].title, 'what does greeting return?');
  assert.match(hits[0].snippet, /«friendly»/);
  assert.equal(new Date(hits[0].updated).toISOString().slice(0, 19), hits[0].updated.slice(0, 19));
  assert.deepEqual(await conn.sendRequest(ExecuteCommandRequest.type, { command: 'loom.searchThreads', arguments: [{ query: 'absentword' }] }), []);

  const md = await conn.sendRequest(ExecuteCommandRequest.type, { command: 'loom.showThread', arguments: [{ id: first.threadId.slice(0, 6) }] });
  assert.equal(typeof md, 'string');
  assert.match(md, /^# what does greeting return\?$/m);
  assert.match(md, /It returns a friendly greeting\./);

  const second = await conn.sendRequest(ExecuteCommandRequest.type,
    { command: 'loom.run', arguments: [{ instruction: 'and in French?', answer: true, threadId: first.threadId }] });
  assert.equal(second.threadId, first.threadId);
  assert.equal(second.final, 'Yes, in French too.');
  await assert.rejects(
    conn.sendRequest(ExecuteCommandRequest.type, { command: 'loom.showThread', arguments: [{ id: 'zzzzzzzzzz' }] }),
    /no such thread/);
  assert.equal(seen.edits.length, 0);
});
