// Checks a packaged .vsix the way VS Code will read it: the files it needs
// are inside (and the build-only ones are not), and the manifest agrees
// with the compiled code (the commands the packaged extension registers
// when activated are exactly the contributed ones, every setting the code
// reads is contributed, no command id collides with one the language
// client registers for the server).
//
//   node check.mjs loom.vsix EXTENSION_DIR
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const [vsixPath, extDir] = process.argv.slice(2);
assert.ok(vsixPath && extDir, 'usage: node check.mjs VSIX EXTENSION_DIR');

// The server's commands (lsp/lifecycle.go, and the thread commands the
// extension uses): the language client registers a VS Code command for
// each one the server lists, so the extension must not register them too.
const SERVER_COMMANDS = ['loom.run', 'loom.searchThreads', 'loom.showThread'];

const zip = readZip(readFileSync(vsixPath));
const names = [...zip.keys()];
const text = (name) => {
  assert.ok(zip.has(name), `the .vsix lacks ${name}`);
  return zip.get(name)().toString('utf8');
};

for (const need of [
  'extension.vsixmanifest',
  'extension/package.json',
  'extension/readme.md',
  'extension/out/extension.js',
  'extension/node_modules/vscode-languageclient/lib/node/main.js',
  'extension/node_modules/vscode-languageserver-protocol/package.json',
]) {
  assert.ok(zip.has(need), `the .vsix lacks ${need}`);
}
for (const name of names) {
  assert.ok(!name.startsWith('extension/src/'), `sources packaged: ${name}`);
  assert.ok(!/^extension\/node_modules\/(typescript|@vscode\/vsce|@types)\//.test(name), `a build tool packaged: ${name}`);
}

const manifest = JSON.parse(text('extension/package.json'));
assert.equal(manifest.main, './out/extension.js');
// vscode-languageclient 11 refuses to run on an older VS Code.
assert.equal(manifest.engines.vscode, '^1.91.0');
const lcVersion = JSON.parse(text('extension/node_modules/vscode-languageclient/package.json')).version;
assert.equal(lcVersion, manifest.dependencies['vscode-languageclient'], 'the packaged vscode-languageclient is not the pinned one');

const code = names
  .filter((n) => /^extension\/out\/.*\.js$/.test(n))
  .map((n) => text(n))
  .join('\n');
const contributed = manifest.contributes.commands.map((c) => c.command);
const registered = await registeredCommands(zip);
for (const id of contributed) {
  assert.ok(!SERVER_COMMANDS.includes(id), `${id} collides with the server command the language client registers`);
  assert.ok(registered.includes(id), `${id} is contributed but activate does not register it (it registers ${registered.join(', ')})`);
}
for (const id of registered) {
  assert.ok(!SERVER_COMMANDS.includes(id), `${id} is registered by the extension and by the language client for the server`);
  assert.ok(contributed.includes(id), `${id} is registered but not contributed`);
  assert.equal(registered.indexOf(id), registered.lastIndexOf(id), `${id} is registered twice`);
}
for (const menu of Object.values(manifest.contributes.menus ?? {})) {
  for (const item of menu) assert.ok(contributed.includes(item.command), `menu item ${item.command} is not a contributed command`);
}
for (const name of ['Run instruction…', 'Search threads', 'Set API Key']) {
  assert.ok(manifest.contributes.commands.some((c) => c.title === name), `no "Loom: ${name}" command`);
}

// Every setting the code reads or watches is declared (an undeclared one
// cannot be set from the Settings UI).
const settings = Object.keys(manifest.contributes.configuration.properties);
const read = [...code.matchAll(/\.get\(['"](\w+)['"]/g)].map((m) => `loom.${m[1]}`);
for (const key of ['loom.path', 'loom.model', 'loom.baseUrl', 'loom.review']) {
  assert.ok(read.includes(key), `the code does not read ${key}`);
}
for (const key of read) {
  assert.ok(settings.includes(key), `the code reads ${key}, which is not a contributed setting`);
}
assert.ok(!settings.some((s) => /key|token|secret/i.test(s)), 'the API key must not be a setting');

const tsconfig = JSON.parse(readFileSync(join(extDir, 'tsconfig.json'), 'utf8'));
assert.equal(tsconfig.compilerOptions.strict, true, 'tsconfig.json must keep "strict": true');

await checkLocate(zip);

console.log(`vscode e2e: the .vsix holds ${names.length} files; manifest and code agree (${contributed.length} commands, ${settings.length} settings)`);

// registeredCommands unpacks the extension from the .vsix, loads it in
// Node with a stand-in for the vscode module that records
// commands.registerCommand, and activates it. The commands must be
// registered before activate waits on the server (here, forever: the
// stand-in secret storage never answers), so that "Show Server Output" and
// "Restart Server" work when the server cannot start. VS Code itself
// cannot run here (see run.sh).
async function registeredCommands(zip) {
  const dir = mkdtempSync(join(tmpdir(), 'loom-vsix-'));
  const load = Module._load;
  try {
    for (const [name, bytes] of zip) {
      if (!name.startsWith('extension/') || name.endsWith('/')) continue;
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes());
    }
    const registered = [];
    const register = (id) => {
      registered.push(id);
      return { dispose() {} };
    };
    // Every other API the extension and vscode-languageclient touch: a
    // callable, constructible value whose properties are the same.
    const anything = () =>
      new Proxy(function () {}, {
        get: (_, p) => (p === 'then' ? undefined : p === Symbol.toPrimitive ? () => '' : anything()),
        set: () => true,
        apply: () => anything(),
        construct: () => anything(),
      });
    const commands = new Proxy({}, {
      get: (_, p) => (p === 'registerCommand' || p === 'registerTextEditorCommand' ? register : anything()),
    });
    const vscode = new Proxy({}, { get: (_, p) => (p === 'commands' ? commands : anything()) });
    Module._load = function (request, ...rest) {
      return request === 'vscode' ? vscode : load.call(this, request, ...rest);
    };
    const secrets = { get: () => new Promise(() => {}), store: async () => {}, delete: async () => {}, onDidChange: () => ({ dispose() {} }) };
    const ctx = new Proxy({ subscriptions: [], secrets }, { get: (t, p) => (p in t ? t[p] : anything()) });
    const ext = createRequire(import.meta.url)(join(dir, 'extension/out/extension.js'));
    let failure;
    ext.activate(ctx).catch((err) => {
      failure = err;
    });
    // A failure before the first wait shows by the next turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!failure, `activate failed: ${failure?.stack}`);
    return registered;
  } finally {
    Module._load = load;
    rmSync(dir, { recursive: true, force: true });
  }
}

// checkLocate runs the packaged out/locate.js against real folders: with
// no loom.path, the binary is found on PATH first, then in ~/.local/bin,
// ~/go/bin and $GOPATH/bin; a non-executable file or a folder named loom
// is skipped.
async function checkLocate(zip) {
  const dir = mkdtempSync(join(tmpdir(), 'loom-locate-'));
  try {
    const locatePath = join(dir, 'locate.js');
    writeFileSync(locatePath, zip.get('extension/out/locate.js')());
    const { findLoom, searchPath } = createRequire(import.meta.url)(locatePath);
    const home = join(dir, 'home');
    const put = (d, mode = 0o755) => {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'loom'), '#!/bin/sh\n', { mode });
      return join(d, 'loom');
    };
    const onPath = join(dir, 'bin');
    const cases = [
      { name: 'PATH first', setup: () => [put(onPath), put(join(home, '.local/bin'))][0], env: { PATH: onPath } },
      { name: '~/.local/bin', setup: () => put(join(home, '.local/bin')), env: { PATH: '/nonexistent' } },
      { name: '~/go/bin', setup: () => put(join(home, 'go/bin')), env: { PATH: '' } },
      { name: '$GOPATH/bin', setup: () => put(join(dir, 'gp/bin')), env: { PATH: '', GOPATH: `relative:${join(dir, 'gp')}` } },
      { name: 'not executable', setup: () => (put(join(home, '.local/bin'), 0o644), undefined), env: { PATH: '' } },
      { name: 'a folder', setup: () => (mkdirSync(join(home, 'go/bin/loom'), { recursive: true }), undefined), env: { PATH: '' } },
    ];
    for (const c of cases) {
      rmSync(home, { recursive: true, force: true });
      rmSync(onPath, { recursive: true, force: true });
      rmSync(join(dir, 'gp'), { recursive: true, force: true });
      const want = c.setup();
      const dirs = searchPath(c.env, home).filter((d) => d !== '/usr/local/bin');
      assert.equal(findLoom(dirs), want, `findLoom: ${c.name} (searched ${dirs.join(', ')})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// readZip maps each entry name to a function returning its bytes, from
// the central directory (a .vsix is a plain zip: stored or deflated, no
// zip64 at this size).
function readZip(buf) {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.set(name, () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      if (method === 0) return data;
      assert.equal(method, 8, `${name}: unsupported compression ${method}`);
      return inflateRawSync(data);
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
