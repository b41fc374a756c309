// The ACP TypeScript client SDK (@agentclientprotocol/sdk, as Zed's own
// agent panel speaks the protocol) drives `loom acp` over stdio. The model
// is llmtest: run.sh starts one process per scenario, each playing a script
// from scripts/, and passes their URLs as LLM_<SCENARIO>.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import * as acp from "@agentclientprotocol/sdk";

const LOOM = process.env.LOOM;
assert.ok(LOOM, "LOOM must name the loom binary");

const A_GO = "package a\n\nvar x = 1\n";

function tempDir(prefix) {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

// project makes a workspace holding a.go.
function project() {
  const dir = tempDir("loom-acp-root-");
  fs.writeFileSync(path.join(dir, "a.go"), A_GO);
  return dir;
}

// The environment of a normal run: the model, and private config, cache
// and thread database folders.
function envFor(modelURL, db) {
  const scratch = tempDir("loom-acp-env-");
  return {
    ...process.env,
    LOOM_MODEL: "test-model",
    LOOM_BASE_URL: modelURL,
    LOOM_API_KEY: "",
    OPENAI_API_KEY: "",
    XDG_CONFIG_HOME: path.join(scratch, "config"),
    XDG_CACHE_HOME: path.join(scratch, "cache"),
    LOOM_DB: db ?? path.join(scratch, "threads.db"),
  };
}

// run starts `loom acp` with env, connects a client offering caps, and
// calls op(ctx, seen) where seen records what the agent sent and the
// client's answers. permission is the optionId the user picks; buffers
// are the editor's unsaved texts by absolute path. stdout is checked to
// hold nothing but JSON-RPC messages.
async function run({ env, caps = {}, permission = "allow_once", buffers = {} }, op) {
  const child = spawn(LOOM, ["acp"], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b) => (stderr += b));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const toClient = new PassThrough();
  let raw = "";
  child.stdout.on("data", (b) => (raw += b));
  child.stdout.pipe(toClient);

  const seen = { updates: [], permissions: [], reads: [], writes: {} };
  const app = acp
    .client({ name: "loom-e2e" })
    .onNotification("session/update", ({ params }) => {
      seen.updates.push(params.update);
    })
    .onRequest("session/request_permission", ({ params }) => {
      seen.permissions.push(params);
      return { outcome: { outcome: "selected", optionId: permission } };
    })
    .onRequest("fs/read_text_file", ({ params }) => {
      seen.reads.push(params.path);
      const text = buffers[params.path] ?? fs.readFileSync(params.path, "utf8");
      return { content: text };
    })
    .onRequest("fs/write_text_file", ({ params }) => {
      seen.writes[params.path] = params.content;
      buffers[params.path] = params.content;
      return {};
    });
  const stream = acp.ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(toClient));
  try {
    return await app.connectWith(stream, async (ctx) => {
      const init = await ctx.request("initialize", {
        protocolVersion: acp.PROTOCOL_VERSION,
        clientCapabilities: caps,
        clientInfo: { name: "loom-e2e", version: "1" },
      });
      return await op(ctx, seen, init);
    });
  } catch (err) {
    err.message += `\nloom stderr:\n${stderr}`;
    throw err;
  } finally {
    child.stdin.end();
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    const { code } = await exited;
    clearTimeout(t);
    assert.equal(code, 0, `loom acp exited ${code}; stderr:\n${stderr}`);
    assert.doesNotMatch(stderr, /panic|goroutine \d+ \[/, "loom panicked");
    for (const line of raw.split("\n").filter((l) => l.trim() !== "")) {
      let msg;
      assert.doesNotThrow(() => (msg = JSON.parse(line)), `stdout holds a line that is not JSON: ${line}`);
      assert.equal(msg.jsonrpc, "2.0", `stdout holds a non-JSON-RPC message: ${line}`);
    }
  }
}

const kinds = (seen, kind) => seen.updates.filter((u) => u.sessionUpdate === kind);
const text = (seen, kind) => kinds(seen, kind).map((u) => u.content.text).join("");

test("a prompt edits through the editor's fs after permission and ends the turn", async () => {
  const root = project();
  const file = path.join(root, "a.go");
  // The editor holds an unsaved x = 2: the edit of "var x = 2" only
  // applies if Loom read the buffer through fs/read_text_file.
  const buffers = { [file]: "package a\n\nvar x = 2\n" };
  await run(
    { env: envFor(process.env.LLM_EDIT), caps: { fs: { readTextFile: true, writeTextFile: true } }, buffers },
    async (ctx, seen, init) => {
      assert.equal(init.protocolVersion, 1);
      assert.equal(init.agentInfo.name, "loom");
      assert.deepEqual(init.authMethods, []);
      assert.equal(init.agentCapabilities.loadSession, true);
      assert.equal(init.agentCapabilities.promptCapabilities.embeddedContext, true);

      const s = await ctx.request("session/new", { cwd: root, mcpServers: [] });
      const model = s.configOptions.find((o) => o.id === "model");
      assert.equal(model.category, "model");
      assert.equal(model.currentValue, "test-model");

      const res = await ctx.request("session/prompt", { sessionId: s.sessionId, prompt: [{ type: "text", text: "set x to 3" }] });
      assert.equal(res.stopReason, "end_turn");

      const call = kinds(seen, "tool_call").find((u) => u.toolCallId === "edit_1");
      assert.ok(call, "no tool_call for the edit");
      assert.equal(call.kind, "edit");
      assert.equal(call.status, "pending");
      assert.deepEqual(call.locations, [{ path: file }]);

      const diff = { type: "diff", path: file, oldText: "package a\n\nvar x = 2\n", newText: "package a\n\nvar x = 3\n" };
      const updates = kinds(seen, "tool_call_update").filter((u) => u.toolCallId === "edit_1");
      assert.ok(updates.some((u) => u.content?.some((c) => c.type === "diff" && c.oldText === diff.oldText)), "no diff content before the permission request");
      assert.equal(seen.permissions.length, 1);
      const perm = seen.permissions[0];
      assert.equal(perm.toolCall.toolCallId, "edit_1");
      assert.deepEqual(perm.toolCall.content, [diff]);
      assert.deepEqual(perm.options.map((o) => o.kind), ["allow_once", "allow_always", "reject_once"]);
      assert.ok(seen.reads.includes(file), "a.go was not read through fs/read_text_file");
      assert.deepEqual(seen.writes, { [file]: "package a\n\nvar x = 3\n" });
      assert.equal(fs.readFileSync(file, "utf8"), A_GO, "Loom wrote the disk itself instead of through the editor");
      const last = updates.at(-1);
      assert.equal(last.status, "completed");
      assert.deepEqual(last.content, [diff]);
      assert.match(text(seen, "agent_message_chunk"), /Editing a\.go\.\s*Done: x is 3\./);
    },
  );
});

test("without fs the edit is staged, its diff reported, and nothing written when rejected", async () => {
  const root = project();
  const file = path.join(root, "a.go");
  await run({ env: envFor(process.env.LLM_NOFS), caps: {}, permission: "reject_once" }, async (ctx, seen) => {
    const s = await ctx.request("session/new", { cwd: root, mcpServers: [] });
    const res = await ctx.request("session/prompt", { sessionId: s.sessionId, prompt: [{ type: "text", text: "set x to 3" }] });
    assert.equal(res.stopReason, "end_turn");
    const updates = kinds(seen, "tool_call_update").filter((u) => u.toolCallId === "edit_1");
    const diff = { type: "diff", path: file, oldText: A_GO, newText: "package a\n\nvar x = 3\n" };
    assert.ok(updates.some((u) => u.content?.some((c) => c.type === "diff" && c.newText === diff.newText && c.oldText === A_GO)), "no diff reported");
    assert.equal(seen.permissions.length, 1);
    assert.equal(updates.at(-1).status, "failed");
    assert.deepEqual(seen.reads, []);
    assert.deepEqual(seen.writes, {});
    assert.equal(fs.readFileSync(file, "utf8"), A_GO);
  });
});

test("session/cancel ends a slow turn with cancelled", async () => {
  const root = project();
  await run({ env: envFor(process.env.LLM_CANCEL) }, async (ctx, seen) => {
    const s = await ctx.request("session/new", { cwd: root, mcpServers: [] });
    const started = Date.now();
    const prompt = ctx.request("session/prompt", { sessionId: s.sessionId, prompt: [{ type: "text", text: "write a lot" }] });
    while (kinds(seen, "agent_message_chunk").length === 0) {
      await new Promise((r) => setTimeout(r, 10));
      assert.ok(Date.now() - started < 10000, "no text arrived");
    }
    await ctx.notify("session/cancel", { sessionId: s.sessionId });
    const res = await prompt;
    assert.equal(res.stopReason, "cancelled");
    // The whole answer takes 400 × 25 ms = 10 s.
    assert.ok(Date.now() - started < 5000, `the turn ended ${Date.now() - started} ms after it started`);
  });
});

test("session/load replays an earlier session and continues it", async () => {
  const root = project();
  const db = path.join(tempDir("loom-acp-db-"), "threads.db");
  const env = envFor(process.env.LLM_LOAD, db);
  const id = await run({ env }, async (ctx) => {
    const s = await ctx.request("session/new", { cwd: root, mcpServers: [] });
    const res = await ctx.request("session/prompt", { sessionId: s.sessionId, prompt: [{ type: "text", text: "what is x?" }] });
    assert.equal(res.stopReason, "end_turn");
    return s.sessionId;
  });
  await run({ env }, async (ctx, seen) => {
    await ctx.request("session/load", { sessionId: id, cwd: root, mcpServers: [] });
    const shown = seen.updates.map((u) =>
      u.sessionUpdate === "tool_call" ? `tool_call ${u.kind} ${u.status} ${u.title}` : `${u.sessionUpdate} ${u.content?.text}`,
    );
    assert.deepEqual(shown, [
      "user_message_chunk what is x?",
      "agent_message_chunk Reading a.go.",
      "tool_call read completed Read a.go",
      "agent_message_chunk x is 1.",
    ]);
    const call = kinds(seen, "tool_call")[0];
    assert.deepEqual(call.locations, [{ path: path.join(root, "a.go") }]);
    assert.match(call.content[0].content.text, /var x = 1/);

    const res = await ctx.request("session/prompt", { sessionId: id, prompt: [{ type: "text", text: "and now?" }] });
    assert.equal(res.stopReason, "end_turn");
    assert.match(text(seen, "agent_message_chunk"), /Still 1\.$/);
  });
});

test("starts with only PATH and its configuration in the environment (no HOME, no XDG)", async () => {
  const root = project();
  const env = {
    PATH: process.env.PATH,
    LOOM_MODEL: "test-model",
    LOOM_BASE_URL: process.env.LLM_BARE,
    // The thread database is configured, as an avante.nvim user would, so
    // the test writes nothing into the real home folder.
    LOOM_DB: path.join(tempDir("loom-acp-bare-"), "threads.db"),
  };
  await run({ env, caps: { fs: { readTextFile: true, writeTextFile: true } } }, async (ctx, seen) => {
    const s = await ctx.request("session/new", { cwd: root, mcpServers: [] });
    const res = await ctx.request("session/prompt", { sessionId: s.sessionId, prompt: [{ type: "text", text: "hello" }] });
    assert.equal(res.stopReason, "end_turn");
    assert.equal(text(seen, "agent_message_chunk"), "Hello from Loom.");
  });
});

test("session/new's MCP servers are that session's: the model calls their tools", async () => {
  const root = project();
  const everything = path.resolve("../mcpservers/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
  assert.ok(fs.existsSync(everything), "server-everything is not installed: run test/install.sh");
  await run({ env: envFor(process.env.LLM_MCP) }, async (ctx, seen, init) => {
    assert.equal(init.agentCapabilities.mcpCapabilities?.http, true);
    // A stdio entry as editors send it (no "type"), with its environment.
    const s = await ctx.request("session/new", {
      cwd: root,
      mcpServers: [{ name: "everything", command: process.execPath, args: [everything, "stdio"], env: [{ name: "NODE_NO_WARNINGS", value: "1" }] }],
    });
    const res = await ctx.request("session/prompt", { sessionId: s.sessionId, prompt: [{ type: "text", text: "echo something" }] });
    assert.equal(res.stopReason, "end_turn");
    const call = kinds(seen, "tool_call").find((u) => u.toolCallId === "echo_1");
    assert.ok(call, "no tool_call for the echo");
    assert.equal(call.kind, "read");
    const last = kinds(seen, "tool_call_update").filter((u) => u.toolCallId === "echo_1").at(-1);
    assert.equal(last.status, "completed");
    assert.match(JSON.stringify(last.content), /Echo: hello over acp/);
    assert.match(text(seen, "agent_message_chunk"), /The server echoed\./);
  });
});
