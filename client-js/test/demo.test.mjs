// The demo page end to end in headless Chromium with fake camera and microphone: real
// RTCPeerConnections between pages, signaled through a live RoomSignal.Server.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBundles } from '../scripts/build.mjs';
import { startServer, repoRoot } from './helpers/server.mjs';
import {
  assertVideoFlows, chatLines, ensureOutputDir, joinCall, joinRoom, launchChromium, mediaStats, openDemo, peerStates, waitConnected,
} from './helpers/browser.mjs';
import { uniqueRoom } from './helpers/hub.mjs';
import { waitFor } from './helpers/wait.mjs';

let server;
let browser;
const contexts = [];

async function open(query = '') {
  const demo = await openDemo(browser, server.url, { query });
  contexts.push(demo.context);
  return demo;
}

/** Opens `count` pages and puts them in one call in `room`. */
async function openCall(count, room) {
  const demos = [];
  for (let i = 0; i < count; i++) demos.push(await open());
  await joinCall(demos, room);
  return demos;
}

async function sendChat(page, text) {
  await page.fill('#chat-input', text);
  await page.click('#chat-send');
}

async function waitChat(page, text) {
  await waitFor(async () => (await chatLines(page)).some((line) => line.endsWith(text)), {
    timeout: 10_000, message: `chat message "${text}" did not arrive`,
  });
}

/** Ids of the remote tiles shown on a page. */
function tileIds(page) {
  return page.$$eval('[data-peer-id]', (tiles) => tiles.map((t) => t.dataset.peerId));
}

function selfId(page) {
  return page.evaluate(() => window.roomsignalDemo.client.id);
}

before(async () => {
  await buildBundles(); // the bundle the server serves always matches the sources under test
  server = await startServer({ name: 'demo server' });
  browser = await launchChromium();
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

describe('the demo page in Chromium', () => {
  it('two pages in one room connect, see and hear each other, and chat both ways', async () => {
    const a = await open();
    const b = await open();
    const [aPeers, bPeers] = await joinCall([a, b], uniqueRoom('two'));
    assert.equal(aPeers[0].id, await selfId(b.page));
    assert.equal(bPeers[0].id, await selfId(a.page));

    await Promise.all([assertVideoFlows(a.page, 1), assertVideoFlows(b.page, 1)]);
    const audio = await a.page.evaluate(() => window.roomsignalDemo.tiles.values().next().value.stream.getAudioTracks().length);
    assert.equal(audio, 1, 'the remote tile carries the audio track too');

    await sendChat(a.page, 'hello from a');
    await waitChat(b.page, 'hello from a');
    await sendChat(b.page, 'hi a, b here');
    await waitChat(a.page, 'hi a, b here');

    const file = path.join(ensureOutputDir(), 'demo-two-peers.png');
    await a.page.screenshot({ path: file });
    mkdirSync(path.join(repoRoot, 'docs', 'images'), { recursive: true });
    if (process.env.ROOMSIGNAL_UPDATE_SCREENSHOT === '1') copyFileSync(file, path.join(repoRoot, 'docs', 'images', 'demo-two-peers.png'));

    assert.deepEqual(a.errors, [], 'no errors on page a');
    assert.deepEqual(b.errors, [], 'no errors on page b');
    await a.context.close();
    await b.context.close();
  });

  it('a page on MessagePack and a page on JSON share a call: same ids, video both ways, chat both ways', async () => {
    const a = await open('?protocol=messagepack');
    const b = await open();
    assert.equal(await a.page.evaluate(() => window.roomsignalDemo.client.connection._protocol.name), 'messagepack');
    assert.equal(await b.page.evaluate(() => window.roomsignalDemo.client.connection._protocol.name), 'json');
    const [aPeers, bPeers] = await joinCall([a, b], uniqueRoom('mixed'));
    assert.equal(aPeers[0].id, await selfId(b.page));
    assert.equal(bPeers[0].id, await selfId(a.page));

    await Promise.all([assertVideoFlows(a.page, 1), assertVideoFlows(b.page, 1)]);
    await sendChat(a.page, 'binary hello');
    await waitChat(b.page, 'binary hello');
    await sendChat(b.page, 'text reply');
    await waitChat(a.page, 'text reply');
    assert.deepEqual(a.errors, [], 'no errors on the MessagePack page');
    assert.deepEqual(b.errors, [], 'no errors on the JSON page');
    await a.context.close();
    await b.context.close();
  });

  it('a third page makes a three-way mesh, and closing a page removes its tile on the others within seconds', async () => {
    const pages = await openCall(3, uniqueRoom('mesh'));
    await Promise.all(pages.map((p) => assertVideoFlows(p.page, 2)));

    await sendChat(pages[2].page, 'three is company');
    await waitChat(pages[0].page, 'three is company');
    await waitChat(pages[1].page, 'three is company');

    const leaving = await selfId(pages[2].page);
    assert.ok((await tileIds(pages[0].page)).includes(leaving));
    const closedAt = Date.now();
    await pages[2].context.close();
    for (const p of pages.slice(0, 2)) {
      await waitFor(async () => !(await tileIds(p.page)).includes(leaving), { timeout: 5_000, interval: 50, message: 'the closed page\'s tile stayed' });
      const peers = await peerStates(p.page);
      assert.deepEqual(peers.map((x) => x.pc), ['connected'], 'the remaining call is unaffected');
    }
    const seconds = (Date.now() - closedAt) / 1000;
    assert.ok(seconds < 5, `tile removed after ${seconds}s`);
    for (const p of pages.slice(0, 2)) await p.context.close();
  });

  /** Opens two pages (with `query` on their URL) and makes both click Join at the same wall-clock instant. */
  async function openJoiningAtOnce(query) {
    const room = uniqueRoom('glare');
    const a = await openDemo(browser, server.url, { query });
    const b = await openDemo(browser, server.url, { query });
    contexts.push(a.context, b.context);
    await a.page.fill('#room', room);
    await b.page.fill('#room', room);
    const at = Date.now() + 400;
    await Promise.all([a, b].map((p) => p.page.evaluate((t) => {
      setTimeout(() => document.getElementById('join').click(), Math.max(0, t - Date.now()));
    }, at)));
    return [a, b];
  }

  /** Opens two pages, makes both click Join at the same wall-clock instant, waits for the call. */
  async function joinAtOnce(query) {
    const [a, b] = await openJoiningAtOnce(query);
    await Promise.all([waitConnected(a.page, 1), waitConnected(b.page, 1)]);
    await Promise.all([assertVideoFlows(a.page, 1), assertVideoFlows(b.page, 1)]);
    let collisions = 0;
    for (const p of [a, b]) {
      collisions += await p.page.evaluate(() => window.roomsignalDemo.client.peers().reduce((n, peer) => n + peer.collisions, 0));
    }
    await a.context.close();
    await b.context.close();
    return collisions;
  }

  it('two pages that join at the same moment still connect', async () => {
    for (let round = 0; round < 2; round++) await joinAtOnce('');
  });

  it('when both sides offer at once (glare), perfect negotiation settles the exchange on one offer', async () => {
    // With the polite side's wait for the first offer turned off, both pages offer the moment they
    // meet and the offers cross. Whatever the order, both must end 'stable' with each side's local
    // description being the other's remote one: one offer won, its answer was applied.
    // (Connecting is not asserted here: after rolling back an offer whose ICE gathering is under
    // way, Chromium sometimes never gathers again; that is why the SDK avoids the collision.)
    let collisions = 0;
    for (let round = 0; round < 3; round++) {
      const [a, b] = await openJoiningAtOnce('?initialOfferWait=0&connectTimeout=0');
      const describe = (page) => page.evaluate(() => {
        const peer = window.roomsignalDemo.client.peers()[0];
        // A description's identity: its ICE ufrag and DTLS fingerprint.
        const id = (d) => (d ? `${/a=ice-ufrag:(\S+)/.exec(d.sdp)?.[1]} ${/a=fingerprint:(.+)/.exec(d.sdp)?.[1]}` : null);
        return peer && {
          state: peer.pc.signalingState, collisions: peer.collisions,
          local: id(peer.pc.localDescription), remote: id(peer.pc.remoteDescription),
        };
      });
      const [da, db] = await waitFor(async () => {
        const [x, y] = [await describe(a.page), await describe(b.page)];
        return x && y && x.state === 'stable' && y.state === 'stable' && x.local && x.remote && x.local === y.remote && y.local === x.remote ? [x, y] : false;
      }, { timeout: 10_000, interval: 100, message: 'the two sides did not settle on one offer/answer' });
      collisions += da.collisions + db.collisions;
      await a.context.close();
      await b.context.close();
    }
    assert.ok(collisions > 0, 'the offers really collided');
    console.log(`# glare: ${collisions} offer collisions settled in 3 rounds`);
  });

  it('Leave removes the tile on the other page at once, and joining again reconnects the call', async () => {
    const room = uniqueRoom('leave');
    const [a, b] = await openCall(2, room);
    await b.page.click('#leave');
    await waitFor(async () => (await tileIds(a.page)).length === 0, { timeout: 3_000, message: 'tile stayed after Leave' });
    assert.equal((await tileIds(b.page)).length, 0, 'the leaver drops its tiles too');
    await joinRoom(b.page, room);
    await Promise.all([waitConnected(a.page, 1), waitConnected(b.page, 1)]);
    await assertVideoFlows(a.page, 1);
    await a.context.close();
    await b.context.close();
  });

  it('a camera switch replaces the track without renegotiating, and the far side keeps receiving', async () => {
    const [a, b] = await openCall(2, uniqueRoom('switch'));
    await assertVideoFlows(b.page, 1);
    // "connected" can come before the last track is negotiated: wait until signaling is stable and the
    // remote description has stopped changing, so "before" is the settled session and not a mid-way one.
    const remoteSdp = () => b.page.evaluate(() => {
      const { pc } = window.roomsignalDemo.client.peers()[0];
      return pc.signalingState === 'stable' ? pc.remoteDescription.sdp : null;
    });
    let before = null;
    await waitFor(async () => {
      const previous = before;
      before = await remoteSdp();
      return before !== null && before === previous;
    }, { timeout: 10_000, interval: 1_000, message: 'negotiation never settled' });
    const senderTrackId = await a.page.evaluate(async () => {
      const { client, localStream } = window.roomsignalDemo;
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const ctx = canvas.getContext('2d');
      let hue = 0;
      setInterval(() => { ctx.fillStyle = `hsl(${(hue += 10) % 360} 80% 50%)`; ctx.fillRect(0, 0, 320, 240); }, 40);
      const newTrack = canvas.captureStream(25).getVideoTracks()[0];
      await client.replaceTrack(localStream.getVideoTracks()[0], newTrack);
      return newTrack.id;
    });
    const sent = await a.page.evaluate(() => window.roomsignalDemo.client.peers()[0].pc.getSenders().map((s) => s.track?.id));
    assert.ok(sent.includes(senderTrackId), 'the sender now carries the new track');
    await waitFor(async () => (await mediaStats(b.page))[await selfId(a.page)]?.videoWidth === 320, { timeout: 10_000, message: 'the far side never saw the new 320x240 track' });
    await assertVideoFlows(b.page, 1);
    const afterSdp = await b.page.evaluate(() => window.roomsignalDemo.client.peers()[0].pc.remoteDescription.sdp);
    assert.equal(afterSdp, before, 'no renegotiation happened');
    await a.context.close();
    await b.context.close();
  });

  it('an ICE restart renegotiates new credentials and the call stays up', async () => {
    const [a, b] = await openCall(2, uniqueRoom('ice'));
    const ufrag = (page) => page.evaluate(() => /a=ice-ufrag:(\S+)/.exec(window.roomsignalDemo.client.peers()[0].pc.localDescription.sdp)[1]);
    const [aBefore, bBefore] = [await ufrag(a.page), await ufrag(b.page)];
    await a.page.evaluate(() => window.roomsignalDemo.client.peers()[0].restartIce());
    await waitFor(async () => (await ufrag(a.page)) !== aBefore && (await ufrag(b.page)) !== bBefore, { timeout: 10_000, message: 'ICE credentials did not change on both sides' });
    await Promise.all([waitConnected(a.page, 1), waitConnected(b.page, 1)]);
    await assertVideoFlows(b.page, 1);
    await a.context.close();
    await b.context.close();
  });

  it('a data channel opened to one peer reaches only that peer', async () => {
    const pages = await openCall(3, uniqueRoom('direct'));
    const targetId = await selfId(pages[1].page);
    for (const p of pages.slice(1)) {
      await p.page.evaluate(() => {
        window.directMessages = [];
        window.roomsignalDemo.client.on('message', ({ label, data }) => { if (label === 'direct') window.directMessages.push(data); });
      });
    }
    await pages[0].page.evaluate((id) => new Promise((resolve, reject) => {
      const channel = window.roomsignalDemo.client.openDataChannel('direct', { peerId: id });
      channel.onopen = () => { channel.send('just for you'); resolve(); };
      setTimeout(() => reject(new Error('direct channel did not open')), 10_000);
    }), targetId);
    await waitFor(() => pages[1].page.evaluate(() => window.directMessages.includes('just for you')), { timeout: 10_000, message: 'direct message did not arrive' });
    const origin = await pages[1].page.evaluate(() => window.roomsignalDemo.client.peers().flatMap((p) => p.dataChannels('direct')).length);
    assert.equal(origin, 1, 'the target got the channel through its dataChannel event');
    // The third page has no such channel; a barrier message on the shared chat proves it is caught up.
    await sendChat(pages[0].page, 'barrier');
    await waitChat(pages[2].page, 'barrier');
    assert.deepEqual(await pages[2].page.evaluate(() => window.directMessages), []);
    for (const p of pages) await p.context.close();
  });
});
