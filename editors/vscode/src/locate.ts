// Finding the `loom` binary on the machine the extension host runs on.
// In a remote window (code-server, Remote-SSH, WSL, Codespaces) that is the
// remote machine, where a `loom.path` from the user's own (local) settings
// does not apply: the setting is machine-overridable. So with no setting
// the extension looks where `loom` is usually installed.
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The folders searched, in order: PATH, then the usual install folders
 * (`make install` → ~/.local/bin, `go install` → ~/go/bin or $GOPATH/bin).
 */
export function searchPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] {
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d && isAbsolute(d));
  dirs.push(join(home, '.local', 'bin'), join(home, 'go', 'bin'), '/usr/local/bin');
  for (const gopath of (env.GOPATH ?? '').split(delimiter)) {
    if (gopath && isAbsolute(gopath)) dirs.push(join(gopath, 'bin'));
  }
  return [...new Set(dirs)];
}

/** The first executable `loom` in dirs, or undefined. */
export function findLoom(dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const file = join(dir, process.platform === 'win32' ? 'loom.exe' : 'loom');
    if (isExecutable(file)) return file;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
