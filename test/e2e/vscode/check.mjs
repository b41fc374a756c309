// Checks a packaged .vsix the way VS Code will read it: the files it needs
// are inside (and the build-only ones are not), and the manifest agrees
// with the compiled code (every contributed command is registered, every
// setting the code reads is contributed, no command id collides with one
// the language client registers for the server).
//
//   node check.mjs loom.vsix EXTENSION_DIR
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
for (const id of contributed) {
  assert.ok(!SERVER_COMMANDS.includes(id), `${id} collides with the server command the language client registers`);
  assert.ok(new RegExp(`['"]${id.replace('.', '\\.')}['"]`).test(code), `${id} is contributed but never registered`);
}
for (const [, id] of code.matchAll(/\b(?:registerCommand|command)\(['"](loom\.\w+)['"]/g)) {
  assert.ok(contributed.includes(id), `${id} is registered but not contributed`);
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
for (const key of ['loom.path', 'loom.model', 'loom.baseUrl']) {
  assert.ok(read.includes(key), `the code does not read ${key}`);
}
for (const key of read) {
  assert.ok(settings.includes(key), `the code reads ${key}, which is not a contributed setting`);
}
assert.ok(!settings.some((s) => /key|token|secret/i.test(s)), 'the API key must not be a setting');

const tsconfig = JSON.parse(readFileSync(join(extDir, 'tsconfig.json'), 'utf8'));
assert.equal(tsconfig.compilerOptions.strict, true, 'tsconfig.json must keep "strict": true');

console.log(`vscode e2e: the .vsix holds ${names.length} files; manifest and code agree (${contributed.length} commands, ${settings.length} settings)`);

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
