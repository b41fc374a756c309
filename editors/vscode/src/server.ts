// Starting and stopping `loom lsp`. The settings and the API key reach the
// server only through its environment: the key stays in VS Code's secret
// storage and never appears in settings.json or on a command line (where
// `ps` would show it).
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { findLoom, searchPath } from './locate';
import { StatusItem } from './status';

export const API_KEY_SECRET = 'loom.apiKey';

/** The environment additions for the server, from settings and secrets. */
export async function serverEnv(secrets: vscode.SecretStorage): Promise<Record<string, string>> {
  const cfg = vscode.workspace.getConfiguration('loom');
  const env: Record<string, string> = {};
  // An empty setting leaves the variable alone, so a LOOM_MODEL exported in
  // the user's shell or the server's config file still applies.
  const model = cfg.get<string>('model', '').trim();
  const baseUrl = cfg.get<string>('baseUrl', '').trim();
  if (model) env.LOOM_MODEL = model;
  if (baseUrl) env.LOOM_BASE_URL = baseUrl;
  const key = await secrets.get(API_KEY_SECRET);
  if (key) env.LOOM_API_KEY = key;
  return env;
}

/**
 * Owns the LanguageClient: one per window, rebuilt on restart so a changed
 * setting or key takes effect.
 */
export class Server implements vscode.Disposable {
  client: LanguageClient | undefined;
  private stateListener: vscode.Disposable | undefined;
  // Set while we stop the client ourselves, so a requested stop is not
  // reported as a failure.
  private stopping = false;

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
    private readonly status: StatusItem,
    private readonly middleware: Middleware,
  ) {}

  async start(): Promise<void> {
    const cfg = vscode.workspace.getConfiguration('loom');
    const setting = cfg.get<string>('path', '').trim();
    const path = setting || findLoom(searchPath());
    if (!path) {
      await this.notFound();
      return;
    }
    this.output.info(`starting "${path} lsp"${setting ? ' (loom.path)' : ''}`);
    const serverOptions: ServerOptions = {
      command: path,
      args: ['lsp'],
      // The workspace folder is the server's root (it also reads it from
      // initialize); its current directory is a fallback for no folder.
      // The language client spawns a command with exactly this env, not
      // added to its own: without process.env the server would run with
      // no HOME, PATH or LOOM_* variables from the user's environment.
      options: {
        env: { ...process.env, ...(await serverEnv(this.ctx.secrets)) },
        cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      },
    };
    const clientOptions: LanguageClientOptions = {
      // Loom's actions apply to any text file on disk; the server's
      // tree-sitter features pick the languages they know.
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.output,
      // The server's stderr is its log; the output channel is one click
      // away on the status bar, so do not pop it open on every warning.
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: this.middleware,
      errorHandler: this.errorHandler(),
      // loom.review: edits come as a refactor preview to accept, or
      // straight into the buffers (the server reads this once, at start).
      initializationOptions: { review: cfg.get<boolean>('review', true) },
    };
    const client = new LanguageClient('loom', 'Loom', serverOptions, clientOptions);
    this.client = client;
    this.stateListener = client.onDidChangeState((e) => {
      if (e.newState === State.Starting) this.status.set('starting');
      else if (e.newState === State.Running) this.status.set('running');
      else if (this.status.state !== 'error') this.status.set('stopped');
    });
    this.status.set('starting');
    try {
      await client.start();
    } catch (err) {
      const msg = errorText(err);
      this.status.set('error', msg);
      this.output.error(`cannot start "${path} lsp": ${msg}`);
      const choice = await vscode.window.showErrorMessage(
        `Loom: cannot start "${path} lsp": ${msg}. Install loom, or set "loom.path" to the binary in ${settingsScope()}.`,
        'Open Settings',
        'Show Output',
      );
      if (choice === 'Open Settings') openPathSetting();
      if (choice === 'Show Output') this.output.show(true);
    }
  }

  // notFound says where it looked and where loom.path must be set.
  private async notFound(): Promise<void> {
    const where = 'PATH, ~/.local/bin, ~/go/bin, /usr/local/bin and $GOPATH/bin';
    const remote = vscode.env.remoteName ? ` on the ${vscode.env.remoteName} machine` : '';
    const msg = `cannot find the loom binary${remote} (looked on ${where})`;
    this.status.set('error', msg);
    this.output.error(msg);
    const choice = await vscode.window.showErrorMessage(
      `Loom: ${msg}. Install it there, or set "loom.path" to its absolute path in ${settingsScope()}.`,
      'Open Settings',
      'Show Output',
    );
    if (choice === 'Open Settings') openPathSetting();
    if (choice === 'Show Output') this.output.show(true);
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.stateListener?.dispose();
    this.stateListener = undefined;
    if (!client) return;
    this.stopping = true;
    try {
      if (client.isRunning()) await client.stop(5000);
      else await client.dispose();
    } catch (err) {
      this.output.warn(`stopping the server: ${errorText(err)}`);
    } finally {
      this.stopping = false;
      this.status.set('stopped');
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The running client, or undefined after telling the user why not. */
  running(): LanguageClient | undefined {
    if (this.client?.isRunning()) return this.client;
    void vscode.window
      .showErrorMessage('Loom: the server is not running.', 'Show Output', 'Restart Server')
      .then((choice) => {
        if (choice === 'Show Output') this.output.show(true);
        if (choice === 'Restart Server') void this.restart();
      });
    return undefined;
  }

  // The default handler restarts a crashing server a few times and then
  // gives up; this one does the same and marks the status bar when it
  // gives up, so a dead server is visible.
  private errorHandler() {
    let crashes: number[] = [];
    return {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        if (this.stopping) return { action: CloseAction.DoNotRestart, handled: true };
        const now = Date.now();
        crashes = crashes.filter((t) => now - t < 3 * 60_000);
        crashes.push(now);
        if (crashes.length <= 4) {
          this.output.warn('the server exited; restarting it');
          return { action: CloseAction.Restart, handled: true };
        }
        this.status.set('error', 'The server exited 5 times in 3 minutes.');
        return {
          action: CloseAction.DoNotRestart,
          message: 'Loom: the server exited 5 times in 3 minutes and will not be restarted. See the Loom output; "Loom: Restart Server" tries again.',
        };
      },
    };
  }

  async dispose(): Promise<void> {
    await this.stop();
  }
}

// settingsScope names the settings that apply to loom.path in this
// window: in a remote one, User settings do not (the setting is
// machine-overridable).
function settingsScope(): string {
  const remote = vscode.env.remoteName;
  return remote ? `the Remote [${remote}] settings (User settings do not apply to a remote window)` : 'your User settings';
}

function openPathSetting(): void {
  if (vscode.env.remoteName) void vscode.commands.executeCommand('workbench.action.openRemoteSettings');
  else void vscode.commands.executeCommand('workbench.action.openSettings', 'loom.path');
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
