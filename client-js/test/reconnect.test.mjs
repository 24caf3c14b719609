// Reconnects: SignalR stateful reconnect keeps the connection (same id, same rooms, no lost
// messages) across a short network drop, and a client whose server restarted reconnects afresh
// and rejoins its rooms.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildBundles } from '../scripts/build.mjs';
import { startServer, freePort } from './helpers/server.mjs';
import { startProxy } from './helpers/proxy.mjs';
import { connectClient, uniqueRoom } from './helpers/hub.mjs';
import { assertVideoFlows, joinCall, joinRoom, launchChromium, openDemo, peerStates, waitConnected } from './helpers/browser.mjs';
import { sleep, waitFor } from './helpers/wait.mjs';

let server;
let proxy;
let browser;
const cleanups = [];

before(async () => {
  await buildBundles();
  server = await startServer({ name: 'reconnect server' });
  proxy = await startProxy(server.port);
  browser = await launchChromium();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await browser?.close().catch(() => {});
  await proxy?.close();
  await server?.stop();
});

describe('stateful reconnect with the official client', () => {
  it('a connection whose socket dies resumes with the same id and rooms, and no message is lost either way', async () => {
    const room = uniqueRoom('resume');
    const a = await connectClient(`${proxy.url}/hubs/room`, { stateful: true, reconnect: true });
    const b = await connectClient(server.hubUrl, { stateful: true });
    cleanups.push(() => a.stop(), () => b.stop());
    await a.join(room);
    await b.join(room);
    const idBefore = a.id;

    // The network goes quiet: whatever is sent now is lost on the wire...
    proxy.blackhole();
    await b.invoke('Offer', { to: a.id, room, sdp: 'sent while a was unreachable' });
    const fromA = a.invoke('Offer', { to: b.id, room, sdp: 'sent by a while unreachable' });
    await sleep(300);
    // ...then the connection breaks, and the client reopens it.
    proxy.cut();

    assert.equal((await a.next('offer', (m) => m.sdp === 'sent while a was unreachable', 10_000)).from, b.id);
    assert.equal((await b.next('offer', (m) => m.sdp === 'sent by a while unreachable', 10_000)).from, idBefore);
    await fromA;
    assert.equal(a.id, idBefore, 'same connection id');
    assert.equal(a.reconnecting, 0, 'no reconnect with a new connection was needed');
    await b.invoke('Answer', { to: a.id, room, sdp: 'after the drop' });
    await a.next('answer', (m) => m.sdp === 'after the drop');
    assert.equal(a.received('offer', (m) => m.sdp === 'sent while a was unreachable').length, 1, 'delivered exactly once');
    assert.equal(b.received('offer', (m) => m.sdp === 'sent by a while unreachable').length, 1, 'delivered exactly once');
    assert.equal(b.received('exit').length, 0, 'the room never heard that a left');
  });
});

describe('the SDK in Chromium', () => {
  it('a network drop of a few seconds keeps the id, the room and the call, and loses no signaling', async () => {
    const room = uniqueRoom('drop');
    // Page a reaches the server only through the proxy; b and c directly.
    const a = await openDemo(browser, proxy.url);
    const b = await openDemo(browser, server.url);
    cleanups.push(() => a.context.close(), () => b.context.close());
    await joinCall([a, b], room);
    const idBefore = await a.page.evaluate(() => window.roomsignalDemo.client.id);
    await a.page.evaluate(() => {
      window.seen = { states: [], peerLeft: 0 };
      const { client } = window.roomsignalDemo;
      client.on('state', ({ newState }) => window.seen.states.push(newState));
      client.on('peerLeft', () => window.seen.peerLeft++);
    });

    // Down for three seconds: open connections reset, new ones refused.
    proxy.refuse(true);
    proxy.cut();
    // Meanwhile a third member joins: its `joined` and its offer to a wait on the server for a.
    const c = await openDemo(browser, server.url);
    cleanups.push(() => c.context.close());
    await joinRoom(c.page, room);
    await sleep(3_000);
    proxy.refuse(false);

    await Promise.all([waitConnected(a.page, 2, 30_000), waitConnected(b.page, 2), waitConnected(c.page, 2, 30_000)]);
    await assertVideoFlows(a.page, 2);
    assert.equal(await a.page.evaluate(() => window.roomsignalDemo.client.id), idBefore, 'same connection id after the drop');
    const seen = await a.page.evaluate(() => window.seen);
    assert.deepEqual(seen, { states: [], peerLeft: 0 }, 'the client never left the connected state and kept its peers');
    const bSeesA = (await peerStates(b.page)).find((p) => p.id === idBefore);
    assert.equal(bSeesA?.pc, 'connected', 'b kept its call with a');
    for (const p of [a, b, c]) await p.context.close();
  });

  it('after a server restart the client reconnects with a new id, rejoins its rooms and the call resumes', async () => {
    const port = await freePort();
    let node = await startServer({ name: 'restarting server', port });
    cleanups.push(() => node.stop());
    const room = uniqueRoom('restart');
    const a = await openDemo(browser, node.url);
    const b = await openDemo(browser, node.url);
    cleanups.push(() => a.context.close(), () => b.context.close());
    await joinCall([a, b], room);
    const ids = await Promise.all([a, b].map((p) => p.page.evaluate(() => window.roomsignalDemo.client.id)));

    await node.stop();
    node = await startServer({ name: 'restarted server', port });

    // Wait for the call to settle rather than taking the first new id each page shows: a page can
    // reconnect to the old process while it is still shutting down (it accepts connections until
    // Kestrel stops listening), and that connection dies with the process, so the page reconnects
    // once more. Settled means: both connected with ids that are not the old ones, each in a call
    // with the other's current id.
    const current = (p) => p.page.evaluate(() => {
      const { client } = window.roomsignalDemo;
      return client.state === 'connected' ? client.id : null;
    });
    const inCallWith = (peers, id) => peers.length === 1 && peers[0].id === id && peers[0].pc === 'connected' && peers[0].tile === 'connected';
    let seen;
    const newIds = await waitFor(async () => {
      const now = await Promise.all([a, b].map(current));
      const peers = await Promise.all([a, b].map((p) => peerStates(p.page)));
      seen = { ids: now, peers };
      if (!now[0] || !now[1] || now[0] === ids[0] || now[1] === ids[1]) return false;
      return inCallWith(peers[0], now[1]) && inCallWith(peers[1], now[0]) ? now : false;
    }, { timeout: 45_000, interval: 200, message: () => `no call between the new connections; pages see ${JSON.stringify(seen)}` });
    assert.notEqual(newIds[0], ids[0]);
    assert.notEqual(newIds[1], ids[1]);
    await assertVideoFlows(a.page, 1);
    assert.deepEqual(await a.page.evaluate(() => window.roomsignalDemo.client.rooms), [room]);
    assert.deepEqual(await Promise.all([a, b].map(current)), newIds, 'the new connections lasted');
    const [aPeers] = await Promise.all([a, b].map((p) => peerStates(p.page)));
    assert.equal(aPeers[0]?.id, newIds[1], 'a is in a call with b\'s new connection');
    for (const p of [a, b]) await p.context.close();
    await node.stop();
  });
});
