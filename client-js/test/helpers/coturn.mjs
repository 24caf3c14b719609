// A real coturn turnserver (Debian package coturn) for the TURN browser tests: a free loopback port, a temp
// config in the use-auth-secret scheme RoomSignal mints credentials for, listening and relaying on 127.0.0.1
// only with loopback peers allowed, a temp log and user database. Ready once it answers a STUN binding
// request. A missing turnserver fails loudly: these tests are never skipped.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.mjs';
import { waitFor, withTimeout } from './wait.mjs';

export const turnRealm = 'roomsignal.test';

function findTurnserver() {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir && existsSync(path.join(dir, 'turnserver'))) return path.join(dir, 'turnserver');
  }
  throw new Error('turnserver not found on PATH or in /usr/bin: install the Debian package coturn (apt-get install coturn; scripts/test.sh does). The TURN tests need a real coturn and are never skipped.');
}

/** Whether a STUN binding request to 127.0.0.1:port is answered within 300 ms. */
function answersStun(port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding Request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    crypto.randomFillSync(request, 8, 12); // transaction id
    const done = (ok) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    socket.on('message', (msg) => done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(request.subarray(8, 20))));
    socket.on('error', () => done(false));
    socket.send(request, port, '127.0.0.1');
  });
}

/**
 * Starts turnserver with a random static-auth-secret.
 * @returns {Promise<{ port: number, secret: string, udpUrl: string, tcpUrl: string, log: () => string, stop: () => Promise<void> }>}
 */
export async function startCoturn() {
  const turnserver = findTurnserver();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomsignal-coturn-'));
  const port = await freePort(); // free for TCP; coturn listens on UDP and TCP
  const secret = `coturn-test-${crypto.randomBytes(12).toString('hex')}`;
  // A relay range of its own, picked at random, so parallel runs (and scripts/cluster.sh's coturn) rarely meet.
  const minPort = 50000 + crypto.randomInt(0, 45) * 200;
  const logFile = path.join(dir, 'turnserver.log');
  const config = path.join(dir, 'turnserver.conf');
  writeFileSync(config, [
    'listening-ip=127.0.0.1', `listening-port=${port}`, 'relay-ip=127.0.0.1', `min-port=${minPort}`, `max-port=${minPort + 199}`,
    'use-auth-secret', `static-auth-secret=${secret}`, `realm=${turnRealm}`, 'fingerprint',
    'allow-loopback-peers', 'no-cli', 'no-tls', 'no-dtls', 'no-multicast-peers', 'verbose',
    `userdb=${path.join(dir, 'turndb')}`, `log-file=${logFile}`, 'simple-log', `pidfile=${path.join(dir, 'turnserver.pid')}`, '',
  ].join('\n'));
  const output = [];
  const child = spawn(turnserver, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => output.push(chunk.toString()));
  const killOnExit = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.once('exit', killOnExit);
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await withTimeout(gone, 5_000, 'turnserver did not stop').catch(async () => {
        child.kill('SIGKILL');
        await withTimeout(gone, 5_000, 'turnserver did not exit after SIGKILL');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`turnserver exited (${JSON.stringify(exited)}):\n${output.join('')}\n${log()}`);
      return answersStun(port);
    }, { timeout: 15_000, interval: 50, message: () => `turnserver did not answer STUN on 127.0.0.1:${port} within 15 s:\n${output.join('')}\n${log()}` });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, secret, udpUrl: `turn:127.0.0.1:${port}?transport=udp`, tcpUrl: `turn:127.0.0.1:${port}?transport=tcp`, log, stop };
}
