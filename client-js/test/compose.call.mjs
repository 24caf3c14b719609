// The docker-compose cluster as scripts/compose-test.sh starts it (nginx in front of two containers of the server image,
// Redis, coturn): the demo in two Chromium contexts pinned to different nodes by nginx's cookie call each other through
// the front URL. Not part of `npm test` (no Docker there); run by scripts/compose-test.sh with ROOMSIGNAL_COMPOSE_FRONT.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueRoom } from './helpers/hub.mjs';
import { launchChromium } from './helpers/browser.mjs';
import { callAcrossNodes } from './helpers/front.mjs';

const front = (process.env.ROOMSIGNAL_COMPOSE_FRONT ?? '').replace(/\/$/, '');
let browser;

before(async () => {
  assert.ok(front, 'ROOMSIGNAL_COMPOSE_FRONT is not set: run scripts/compose-test.sh');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
});

describe('docker-compose: the demo through nginx', () => {
  it('serves /readyz, /healthz and the demo through nginx', async () => {
    for (const path of ['/readyz', '/healthz', '/']) {
      const response = await fetch(front + path);
      assert.equal(response.status, 200, `${path} answered ${response.status}`);
    }
  });

  it('two pages on different nodes behind nginx call each other', async () => {
    await callAcrossNodes(browser, front, uniqueRoom('compose-call'), 'hello through compose');
  });

  it('each node serves its Prometheus metrics', async () => {
    for (const port of [process.env.ROOMSIGNAL_NODE1_PORT, process.env.ROOMSIGNAL_NODE2_PORT]) {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(body, /^roomsignal_redis_connected(\{[^}]*\})? 1/m, `node on ${port} is not connected to Redis`);
    }
  });
});
