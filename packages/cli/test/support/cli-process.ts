import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run "npx -y pnpm@10.34.9 --filter jobe-balancer run build" first`);
  }
}

/** Environment without the JOBE_BALANCER_* variables of whoever runs the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('JOBE_BALANCER_')),
  );
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `node dist/cli.js` with its output collected. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly listeners = new Set<() => void>();

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()) {
    this.child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      for (const listener of this.listeners) listener();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      for (const listener of this.listeners) listener();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        for (const listener of this.listeners) listener();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  waitForOutput(pattern: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const test = (): void => {
        const match = pattern.exec(this.stdout);
        if (match) {
          this.listeners.delete(test);
          resolve(match);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.listeners.delete(test);
          reject(
            new Error(`exited before printing ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`),
          );
        }
      };
      this.listeners.add(test);
      test();
    });
  }

  /** Stops the process if a test left it running. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export function runCli(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return new CliProcess(args, env).exited;
}
