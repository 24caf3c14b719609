// Starts RoomSignal.Server (the Release build) as a child process on a free loopback port, and
// redis-server when a test needs a backplane. Every child is killed when the test process ends,
// whether the tests passed or not.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, withTimeout } from './wait.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const projectDir = path.join(repoRoot, 'src', 'RoomSignal.Server');
const defaultDll = path.join(projectDir, 'bin', 'Release', 'net10.0', 'RoomSignal.Server.dll');

const children = new Set();
function killAll() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* gone already */ }
  }
  children.clear();
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race, which we accept). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tail(lines, max = 40) {
  return lines.slice(-max).join('\n');
}

/** Where the server dll is: ROOMSIGNAL_SERVER_DLL, or the Release build in this repository. */
export function serverDll() {
  const dll = process.env.ROOMSIGNAL_SERVER_DLL ? path.resolve(process.env.ROOMSIGNAL_SERVER_DLL) : defaultDll;
  if (!existsSync(dll)) {
    throw new Error(`RoomSignal.Server.dll not found at ${dll}. Build it first: dotnet build RoomSignal.sln -c Release (or set ROOMSIGNAL_SERVER_DLL).`);
  }
  return dll;
}

/**
 * Starts one server node and waits for GET /healthz to answer 200.
 * @param {{ env?: Record<string,string>, name?: string, port?: number }} [options]
 * @returns {Promise<{ url: string, hubUrl: string, port: number, logs: string[], stop: () => Promise<void> }>}
 */
export async function startServer(options = {}) {
  const dll = serverDll();
  // The Release output has no wwwroot of its own: serve the project's (where the bundle is built to),
  // unless the dll's folder carries one (a published server).
  const dllDir = path.dirname(dll);
  const contentRoot = existsSync(path.join(dllDir, 'wwwroot', 'index.html')) ? dllDir : projectDir;
  const port = options.port ?? await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs = [];
  const child = spawn('dotnet', [dll, '--urls', url, '--contentRoot', contentRoot], {
    cwd: contentRoot,
    env: {
      ...process.env,
      ASPNETCORE_ENVIRONMENT: 'Production',
      DOTNET_NOLOGO: '1',
      Logging__Console__FormatterName: 'simple',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });
  const collect = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(line);
    if (logs.length > 2000) logs.splice(0, logs.length - 2000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  const name = options.name ?? 'server';
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`${name} exited (${JSON.stringify(exited)}) before it was healthy:\n${tail(logs)}`);
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200;
      } catch {
        return false;
      }
    }, { timeout: 30_000, interval: 100, message: () => `${name} did not answer /healthz within 30 s:\n${tail(logs)}` });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }

  return {
    url,
    hubUrl: `${url}/hubs/room`,
    port,
    logs,
    async stop() {
      if (exited) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      try {
        await withTimeout(done, 10_000, `${name} did not stop`);
      } catch {
        // Wait for the kill too: until the process is gone it holds its port and its connections.
        child.kill('SIGKILL');
        await withTimeout(done, 5_000, `${name} did not exit after SIGKILL`);
      }
    },
  };
}

/**
 * A Redis for the backplane: REDIS_URL when set (redis://host:port), else a redis-server of our own
 * on a free loopback port with a temporary directory and no persistence.
 * @returns {Promise<{ configuration: string, stop: () => Promise<void> }>}
 */
export async function startRedis() {
  if (process.env.REDIS_URL) {
    const u = new URL(process.env.REDIS_URL);
    return { configuration: `${u.hostname}:${u.port || 6379}`, async stop() {} };
  }
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!bin) {
    throw new Error('redis-server is not installed (apt-get install redis-server) and REDIS_URL is not set; the two-node tests need a real Redis.');
  }
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomsignal-redis-'));
  const logs = [];
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let exited = null;
  child.on('exit', (code) => { exited = code; children.delete(child); });
  child.stdout.on('data', (c) => logs.push(c.toString()));
  child.stderr.on('data', (c) => logs.push(c.toString()));
  await waitFor(() => {
    if (exited !== null) throw new Error(`redis-server exited (${exited}):\n${logs.join('')}`);
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (d) => {
          socket.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
      socket.once('error', () => resolve(false));
    });
  }, { timeout: 10_000, interval: 50, message: () => `redis-server did not answer PING:\n${logs.join('')}` });
  return {
    configuration: `127.0.0.1:${port}`,
    async stop() {
      if (exited === null) {
        const done = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await withTimeout(done, 5_000, 'redis-server did not stop').catch(() => child.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
