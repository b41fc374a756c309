// "Loom: Search threads": every agent run is recorded as a thread; this
// searches them through the server (loom.searchThreads) and opens the one
// picked as a Markdown document (loom.showThread).
import * as vscode from 'vscode';
import { ErrorCodes, ExecuteCommandRequest, LanguageClient, ResponseError } from 'vscode-languageclient/node';
import { clip } from './run';
import { errorText } from './server';

export const SEARCH_COMMAND = 'loom.searchThreads';
export const SHOW_COMMAND = 'loom.showThread';

/** One search hit, as loom.searchThreads returns it. */
interface ThreadHit {
  id: string;
  title: string;
  updated: string; // RFC 3339
  snippet: string;
}

interface HitItem extends vscode.QuickPickItem {
  id: string;
}

const unsupported =
  'Loom: this loom server cannot search threads (it lacks the loom.searchThreads and loom.showThread commands). Update loom, or use `loom threads search` in a terminal.';

export async function searchThreads(client: LanguageClient): Promise<void> {
  // A server that does not list the commands would only answer with an
  // error: say so before asking for a query.
  const offered = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
  if (!offered.includes(SEARCH_COMMAND)) {
    void vscode.window.showWarningMessage(unsupported);
    return;
  }
  const query = await vscode.window.showInputBox({
    title: 'Loom: Search threads',
    prompt: 'Words to find in past instructions, answers and tool calls (FTS syntax: "a phrase", pref*, OR, NOT)',
    ignoreFocusOut: true,
  });
  if (!query?.trim()) return;

  const hits = await execute<ThreadHit[]>(client, SEARCH_COMMAND, { query });
  if (!hits) return;
  if (hits.length === 0) {
    void vscode.window.showInformationMessage(`Loom: no thread matches "${query}".`);
    return;
  }
  const picked = await vscode.window.showQuickPick<HitItem>(
    hits.map((h) => ({
      id: h.id,
      label: h.title || h.id,
      description: when(h.updated),
      // The server marks the matched words «like this».
      detail: clip(h.snippet.replace(/[«»]/g, ''), 160),
    })),
    { title: `Loom: threads matching "${query}"`, matchOnDescription: true, matchOnDetail: true },
  );
  if (!picked) return;

  const markdown = await execute<string>(client, SHOW_COMMAND, { id: picked.id });
  if (markdown === undefined) return;
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
  await vscode.window.showTextDocument(doc, { preview: true });
}

// execute runs a server command; undefined after telling the user why it
// failed. An older server answers an unknown command with MethodNotFound
// or InvalidParams "unknown command": both mean "not supported".
async function execute<T>(client: LanguageClient, command: string, arg: object): Promise<T | undefined> {
  try {
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] })) as T;
  } catch (err) {
    if (
      err instanceof ResponseError &&
      (err.code === ErrorCodes.MethodNotFound || /unknown command/i.test(err.message))
    ) {
      void vscode.window.showWarningMessage(unsupported);
    } else {
      void vscode.window.showErrorMessage(`Loom: ${command}: ${errorText(err)}`);
    }
    return undefined;
  }
}

function when(rfc3339: string): string {
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? rfc3339 : d.toLocaleString();
}
