// loom.run from VS Code: "Loom: Run instruction…", and every "Loom: …"
// code action (whose loom.run command the language client routes through
// the middleware below).
//
// Each run goes out with its own workDoneToken so its progress shows as a
// notification with a Cancel button; the language client's own handling
// of server-created progress puts it in the status bar, where it is easy
// to miss and cannot be cancelled.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  LSPErrorCodes,
  Middleware,
  Range,
  ResponseError,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
} from 'vscode-languageclient/node';
import { errorText } from './server';

/** The argument object of loom.run (lsp/codeaction.go RunArgs). */
export interface RunArgs {
  instruction?: string;
  uri?: string;
  range?: Range;
  answer?: boolean;
  /**
   * The code action's title ("Loom: Fix"), added by the middleware for the
   * progress notification; never sent to the server.
   */
  title?: string;
}

/** The answer to loom.run (lsp/command.go RunResult). */
interface RunResult {
  final: string;
  files?: string[];
  applied: boolean;
}

export const RUN_COMMAND = 'loom.run';

// The last instruction typed, offered again: rephrasing a request that
// did not come out right is the common next step.
let lastInstruction = '';

/** Asks for an instruction; undefined when the user dismisses the box. */
export async function promptInstruction(where: string): Promise<string | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'Loom',
    prompt: `What should Loom do ${where}?`,
    placeHolder: 'e.g. handle the error instead of ignoring it',
    value: lastInstruction,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Type an instruction, or press Escape to cancel.'),
  });
  if (text === undefined || !text.trim()) return undefined;
  lastInstruction = text.trim();
  return lastInstruction;
}

/**
 * Runs loom.run with progress in a cancellable notification. The server
 * sends the edit with workspace/applyEdit before it answers, so when this
 * resolves the edit is already in the editor (unsaved).
 */
export async function runLoom(client: LanguageClient, args: RunArgs, output: vscode.LogOutputChannel): Promise<RunResult | undefined> {
  const token = `loom-vscode-${randomUUID()}`;
  const { title, ...sent } = args;
  // VS Code shows a notification's title and message as "title: message";
  // an instruction as the title reads badly before a step ("Loom: Fix the
  // bugs in calc.go, line 6.: starting"), so the line is built here:
  // "Loom: Fix — starting".
  const label = title ?? `Loom: ${clip(args.instruction ?? '', 40)}`;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, cancellable: true },
    async (progress, cancel) => {
      progress.report({ message: label });
      const steps = client.onProgress(WorkDoneProgress.type, token, (v) => {
        if (v.kind !== 'end' && v.message) progress.report({ message: `${label} — ${v.message}` });
      });
      const onCancel = cancel.onCancellationRequested(() => {
        void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
      });
      try {
        const res: RunResult | null = await client.sendRequest(ExecuteCommandRequest.type, {
          command: RUN_COMMAND,
          arguments: [sent],
          workDoneToken: token,
        });
        if (res) report(res, args);
        return res ?? undefined;
      } catch (err) {
        failed(err, output);
        return undefined;
      } finally {
        steps.dispose();
        onCancel.dispose();
      }
    },
  );
}

// report tells the user what changed. An answer (Explain) was already
// shown by the server with window/showDocument, and a rejected edit with a
// warning.
function report(res: RunResult, args: RunArgs): void {
  if (args.answer || !res.files?.length || !res.applied) return;
  const names = res.files.join(', ');
  const summary = res.final ? ` ${clip(res.final, 200)}` : '';
  void vscode.window.showInformationMessage(
    `Loom edited ${names} (unsaved: review, then save or undo).${summary}`,
  );
}

function failed(err: unknown, output: vscode.LogOutputChannel): void {
  if (err instanceof ResponseError) {
    if (err.code === LSPErrorCodes.RequestCancelled) {
      void vscode.window.showInformationMessage('Loom: cancelled; nothing was changed.');
      return;
    }
    // A run that failed (no model configured, the model unreachable) was
    // already shown by the server with window/showMessage.
    if (err.code === LSPErrorCodes.RequestFailed) {
      output.error(`loom.run: ${err.message}`);
      return;
    }
  }
  output.error(`loom.run: ${errorText(err)}`);
  void vscode.window.showErrorMessage(`Loom: ${errorText(err)}`);
}

/**
 * The middleware sends every loom.run through runLoom, and supplies the
 * instruction the "Edit with instruction…" code action leaves out (LSP has
 * no way for a server to ask for free text).
 */
export function runMiddleware(client: () => LanguageClient | undefined, output: vscode.LogOutputChannel): Middleware {
  return {
    // The action's title goes with its loom.run arguments, to name the
    // run in its progress notification.
    provideCodeActions: async (document, range, context, token, next) => {
      const actions = await next(document, range, context, token);
      for (const a of actions ?? []) if (a instanceof vscode.CodeAction) titled(a);
      return actions;
    },
    resolveCodeAction: async (item, token, next) => {
      const a = await next(item, token);
      if (a) titled(a);
      return a;
    },
    executeCommand: async (command, args, next) => {
      const c = client();
      if (command !== RUN_COMMAND || !c) return next(command, args);
      const run: RunArgs = { ...((args[0] as RunArgs | undefined) ?? {}) };
      if (!run.instruction?.trim()) {
        const instruction = await promptInstruction('here');
        if (!instruction) return undefined;
        run.instruction = instruction;
      }
      return runLoom(c, run, output);
    },
  };
}

function titled(a: vscode.CodeAction): void {
  const arg = a.command?.command === RUN_COMMAND ? a.command.arguments?.[0] : undefined;
  if (arg && typeof arg === 'object') (arg as RunArgs).title = a.title;
}

/** "Loom: Run instruction…": on the selection, or the line at the cursor. */
export async function runInstruction(client: LanguageClient, output: vscode.LogOutputChannel): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const args: RunArgs = {};
  let where = 'in the workspace';
  if (editor && editor.document.uri.scheme === 'file') {
    // An empty selection means the cursor's line: the code the user is on.
    const sel = editor.selection;
    const range = sel.isEmpty ? editor.document.lineAt(sel.active.line).range : sel;
    args.uri = client.code2ProtocolConverter.asUri(editor.document.uri);
    args.range = client.code2ProtocolConverter.asRange(range);
    where = sel.isEmpty ? `on line ${sel.active.line + 1}` : 'with the selection';
  }
  args.instruction = await promptInstruction(where);
  if (!args.instruction) return;
  await runLoom(client, args, output);
}

export function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= n ? one : `${one.slice(0, n - 1)}…`;
}
