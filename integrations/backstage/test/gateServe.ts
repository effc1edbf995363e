import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The project root (integrations/backstage is two levels down). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The `gate` executable: GOVGATE_GATE_BIN, else the project's .venv. */
export function gateBinary(): string {
  return process.env.GOVGATE_GATE_BIN ?? path.join(PROJECT_ROOT, '.venv', 'bin', 'gate');
}

/** A TCP port nothing listens on at the moment. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway audit log and keys: GATE_AUDIT_LOG, GATE_SIGNING_KEY (a P-256 PEM), GATE_LOG_KEY. */
export async function auditEnv(folder: string): Promise<{ [name: string]: string }> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const python = path.join(path.dirname(gateBinary()), 'python');
  const { stdout } = await run(
    python,
    ['-c', 'from audit.keys import new_log_key; print(new_log_key()[0])'],
    {
      cwd: PROJECT_ROOT,
    },
  );
  return { GATE_AUDIT_LOG: path.join(folder, 'log'), GATE_SIGNING_KEY: pem, GATE_LOG_KEY: stdout.trim() };
}

export interface GateServe {
  url: string;
  token: string;
  auditLog: string;
  /** What the server printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  token: string;
  maxRequestBytes?: number;
  env?: string;
}

async function waitHealthy(
  url: string,
  proc: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `gate serve exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${output()}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  throw new Error(`gate serve was not healthy within ${timeoutMs} ms:\n${output()}`);
}

/**
 * Start the real `gate serve` on 127.0.0.1 and a free port, with a throwaway audit log, and wait
 * until /healthz answers. Fails (never skips) when the gate or its serve command is missing.
 */
export async function startGateServe(options: StartOptions): Promise<GateServe> {
  const gate = gateBinary();
  if (!existsSync(gate)) {
    throw new Error(
      `${gate} not found: create the project's virtualenv (pip install -e .) or set GOVGATE_GATE_BIN`,
    );
  }
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'govgate-backstage-'));
  const audit = await auditEnv(folder);
  const port = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--token', options.token];
  if (options.maxRequestBytes !== undefined)
    args.push('--max-request-bytes', String(options.maxRequestBytes));
  if (options.env !== undefined) args.push('--env', options.env);

  const env: { [name: string]: string } = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(GATE_|GITHUB_|GITLAB_|CI_)/.test(key)) env[key] = value;
  }
  Object.assign(env, audit, { NO_COLOR: '1' });

  // Started in an empty folder, so no gate.yaml of the caller's working directory is read.
  const proc = spawn(gate, args, { cwd: folder, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  const collect = (chunk: Buffer): void => {
    printed += chunk.toString();
    if (printed.length > 100_000) printed = printed.slice(-50_000);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const output = (): string => printed;
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const killTimer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killTimer);
    }
    await fs.rm(folder, { recursive: true, force: true });
  };

  try {
    await waitHealthy(url, proc, output, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, token: options.token, auditLog: audit.GATE_AUDIT_LOG ?? '', output, stop };
}
