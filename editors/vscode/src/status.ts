// The status bar item: the server's state at a glance, and a click away
// from its log (most problems — no model configured, a wrong binary path —
// are explained there).
import * as vscode from 'vscode';

export type ServerState = 'starting' | 'running' | 'stopped' | 'error';

const look: Record<ServerState, { icon: string; tip: string }> = {
  starting: { icon: '$(loading~spin)', tip: 'Loom: starting `loom lsp`…' },
  running: { icon: '$(sparkle)', tip: 'Loom: the server is running' },
  stopped: { icon: '$(circle-slash)', tip: 'Loom: the server is stopped' },
  error: { icon: '$(error)', tip: 'Loom: the server failed' },
};

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  state: ServerState = 'stopped';

  constructor(showOutputCommand: string) {
    this.item = vscode.window.createStatusBarItem('loom.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Loom';
    this.item.command = showOutputCommand;
    this.set('stopped');
    this.item.show();
  }

  /** Shows a state; detail (an error message) goes into the tooltip. */
  set(state: ServerState, detail?: string): void {
    this.state = state;
    const { icon, tip } = look[state];
    this.item.text = `${icon} Loom`;
    this.item.tooltip = `${tip}${detail ? `\n${detail}` : ''}\nClick to show the server output.`;
    this.item.backgroundColor =
      state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
