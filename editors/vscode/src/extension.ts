// Loom for VS Code: starts `loom lsp` and adds the commands around it.
//
// The server does the work (code actions, loom.run with progress and
// workspace/applyEdit, answers shown with window/showDocument); this
// extension supplies what a language server cannot: an input box for
// instructions, the API key from secret storage, a status bar item, and
// the thread search UI.
//
// The contributed command ids differ from the server's (loom.run,
// loom.searchThreads, loom.showThread): the language client registers a
// VS Code command under each id the server lists in
// executeCommandProvider, and two registrations of one id fail.
import * as vscode from 'vscode';
import { runInstruction, runMiddleware } from './run';
import { API_KEY_SECRET, Server } from './server';
import { StatusItem } from './status';
import { searchThreads } from './threads';

let server: Server | undefined;

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Loom', { log: true });
  const status = new StatusItem('loom.showOutput');
  const srv = new Server(ctx, output, status, runMiddleware(() => server?.client, output));
  server = srv;
  ctx.subscriptions.push(output, status, srv);

  const command = (id: string, fn: () => unknown) => ctx.subscriptions.push(vscode.commands.registerCommand(id, fn));
  command('loom.showOutput', () => output.show(true));
  command('loom.restartServer', () => srv.restart());
  command('loom.runInstruction', async () => {
    const client = srv.running();
    if (client) await runInstruction(client, output);
  });
  command('loom.threads', async () => {
    const client = srv.running();
    if (client) await searchThreads(client);
  });
  command('loom.setApiKey', async () => {
    const key = await vscode.window.showInputBox({
      title: 'Loom: Set API Key',
      prompt: "The model provider's API key. Kept in VS Code's secret storage and passed to the server as LOOM_API_KEY.",
      password: true,
      ignoreFocusOut: true,
    });
    if (!key?.trim()) return;
    await ctx.secrets.store(API_KEY_SECRET, key.trim());
  });
  command('loom.clearApiKey', () => ctx.secrets.delete(API_KEY_SECRET));

  // The server reads its model settings once, at start: restart it when
  // they change so the next run uses them.
  ctx.subscriptions.push(
    ctx.secrets.onDidChange(async (e) => {
      if (e.key !== API_KEY_SECRET) return;
      await srv.restart();
      const set = (await ctx.secrets.get(API_KEY_SECRET)) !== undefined;
      void vscode.window.showInformationMessage(set ? 'Loom: API key saved; the server was restarted.' : 'Loom: API key removed.');
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (['loom.path', 'loom.model', 'loom.baseUrl', 'loom.review'].some((s) => e.affectsConfiguration(s))) void srv.restart();
    }),
  );

  await srv.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
