// The cluster as an operator starts it: scripts/cluster.sh up (redis-server, two nodes, coturn, nginx in front),
// then the demo call in Chromium through nginx with the two pages on different nodes.
// Needs redis-server, nginx and coturn (cluster.sh installs what is missing).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { buildBundles } from '../scripts/build.mjs';
import { repoRoot, serverDll } from './helpers/server.mjs';
import { uniqueRoom } from './helpers/hub.mjs';
import { launchChromium } from './helpers/browser.mjs';
import { callAcrossNodes } from './helpers/front.mjs';

const run = promisify(execFile);
const script = path.join(repoRoot, 'scripts', 'cluster.sh');
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'roomsignal-cluster-'));
const env = { ...process.env, ROOMSIGNAL_CLUSTER_DIR: stateDir, ROOMSIGNAL_SERVER_DLL: serverDll() };
let front;
let browser;

async function cluster(...args) {
  return run('bash', [script, ...args], { env, timeout: 180_000 });
}

before(async () => {
  await buildBundles();
  // cluster.sh takes ports N..N+200, kept below the kernel's ephemeral range (32768 and up) so that no client
  // socket holds one as its local end; try a few random bases in case one is taken anyway.
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      const { stdout } = await cluster('up', '--port', String(port), '--nodes', '2');
      front = stdout.trim().split('\n').pop();
      break;
    } catch (error) {
      if (attempt >= 3 || !/in use/.test(String(error.stderr))) throw new Error(`cluster.sh up failed:\n${error.stdout}\n${error.stderr}`);
    }
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  await cluster('down').catch((error) => console.error('cluster.sh down failed', error));
  rmSync(stateDir, { recursive: true, force: true });
});

describe('scripts/cluster.sh: the demo through nginx', () => {
  it('reports every process running and ready', async () => {
    const { stdout } = await cluster('status');
    for (const name of ['redis', 'coturn', 'node1', 'node2', 'nginx']) assert.match(stdout, new RegExp(`^${name} .* running`, 'm'));
    assert.match(stdout, /node1 .*\/readyz 200/);
    assert.match(stdout, /node2 .*\/readyz 200/);
  });

  it('two pages on different nodes behind nginx call each other', async () => {
    await callAcrossNodes(browser, front, uniqueRoom('nginx-call'), 'hello through nginx');
  });
});
