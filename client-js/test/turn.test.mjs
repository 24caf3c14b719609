// Calls through a real coturn: a RoomSignal server with auth on hands out TURN credentials (coturn's
// use-auth-secret scheme, the same secret as the turnserver this test starts on loopback), and two Chromium
// pages with iceTransportPolicy 'relay' connect through it, signaling over the hub. Needs coturn
// (scripts/test.sh installs it); a missing turnserver fails the test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildBundles } from '../scripts/build.mjs';
import { startServer } from './helpers/server.mjs';
import { startCoturn } from './helpers/coturn.mjs';
import { mintToken, testSigningKey } from './helpers/tokens.mjs';
import { assertVideoFlows, joinCall, launchChromium, openDemo } from './helpers/browser.mjs';
import { uniqueRoom } from './helpers/hub.mjs';
import { waitFor, withTimeout } from './helpers/wait.mjs';

let coturn;
let server;
let browser;
const contexts = [];

before(async () => {
  await buildBundles();
  coturn = await startCoturn();
  server = await startServer({
    name: 'turn server',
    env: {
      RoomSignal__Auth__SigningKey: testSigningKey,
      RoomSignal__Ice__TurnUrls__0: coturn.udpUrl,
      RoomSignal__Ice__TurnUrls__1: coturn.tcpUrl,
      RoomSignal__Ice__TurnSecret: coturn.secret,
    },
  });
  browser = await launchChromium();
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
  await coturn?.stop();
});

/** A fresh browser context on the server's origin (so `/api/ice-servers` and `/js/roomsignal.js` are same-origin). */
async function openPage() {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}/healthz`);
  return { page, errors };
}

/** The selected ICE candidate pair of every peer of the page's client: the demo's, or `window.rs`. */
function selectedPairs(page, which) {
  return page.evaluate(async (w) => {
    const client = w === 'demo' ? window.roomsignalDemo.client : window.rs;
    const out = [];
    for (const peer of client.peers()) {
      const stats = await peer.getStats();
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          // Bytes of the whole ICE transport: the selected pair may have switched since the handshake. With a
          // relay-only policy every candidate of ours is a relay one, so all of them went through TURN.
          const p = stats.get(s.selectedCandidatePairId);
          const local = stats.get(p.localCandidateId);
          const remote = stats.get(p.remoteCandidateId);
          pair = {
            state: p.state,
            local: { type: local?.candidateType, address: local?.address, relayProtocol: local?.relayProtocol, url: local?.url },
            remote: { type: remote?.candidateType, address: remote?.address },
            bytesSent: s.bytesSent,
            bytesReceived: s.bytesReceived,
          };
        }
      });
      out.push({ id: peer.id, policy: peer.pc.getConfiguration().iceTransportPolicy, pair });
    }
    return out;
  }, which);
}

function assertRelayed(pairs, label) {
  assert.equal(pairs.length, 1, `${label}: one peer`);
  const [{ policy, pair }] = pairs;
  assert.equal(policy, 'relay', `${label}: the peer connection is relay-only`);
  assert.ok(pair, `${label}: a selected candidate pair: ${JSON.stringify(pairs)}`);
  assert.equal(pair.local.type, 'relay', `${label}: local candidate: ${JSON.stringify(pair)}`);
  assert.equal(pair.remote.type, 'relay', `${label}: remote candidate: ${JSON.stringify(pair)}`);
  assert.equal(pair.local.address, '127.0.0.1', `${label}: relayed by the loopback coturn: ${JSON.stringify(pair)}`);
  assert.ok(pair.bytesSent > 0 && pair.bytesReceived > 0, `${label}: bytes through the transport: ${JSON.stringify(pair)}`);
}

/**
 * Waits until the page's one peer has a selected pair and bytes both ways (right after `connected` the
 * counters can still be 0), then asserts that pair is relay on both ends.
 */
async function assertRelayedSoon(page, which, label) {
  let pairs = [];
  await waitFor(async () => {
    pairs = await selectedPairs(page, which);
    const pair = pairs[0]?.pair;
    return pair && pair.bytesSent > 0 && pair.bytesReceived > 0;
  }, { timeout: 10_000, interval: 100, message: () => `${label}: no bytes both ways on the selected pair: ${JSON.stringify(pairs)}` });
  assertRelayed(pairs, label);
}

/** Waits until coturn's log shows a successful allocation for a username ending in `:<user>`. */
async function waitCoturnAllocated(user) {
  const pattern = new RegExp(`user <\\d+:${user}>: incoming packet ALLOCATE processed, success`);
  await waitFor(() => pattern.test(coturn.log()), { timeout: 5_000, message: () => `coturn did not log an allocation for ${user}:\n${coturn.log().slice(-3000)}` });
}

describe('calls through a real coturn with relay-only ICE', () => {
  it('two pages fetch /api/ice-servers with their tokens, signal through the hub and connect through the TURN relay', async () => {
    const room = uniqueRoom('turn');
    const people = [];
    for (const sub of ['alice', 'bob']) {
      const { page, errors } = await openPage();
      const token = mintToken({ sub, name: `${sub} in a browser`, rooms: [room] });
      const ice = await page.evaluate(async (t) => {
        const res = await fetch('/api/ice-servers', { headers: { Authorization: `Bearer ${t}` } });
        return { status: res.status, body: await res.json() };
      }, token);
      assert.equal(ice.status, 200);
      const turn = ice.body.iceServers.find((s) => s.username);
      assert.deepEqual(turn.urls, [coturn.udpUrl, coturn.tcpUrl]);
      assert.match(turn.username, new RegExp(`^\\d+:${sub}$`));
      await page.evaluate(async ({ t, r, iceServers }) => {
        const { RoomSignalClient } = await import('/js/roomsignal.js');
        // The servers from /api/ice-servers only (serverIceServers off), relay-only ICE.
        window.rs = new RoomSignalClient({ accessToken: t, iceServers, serverIceServers: false, rtcConfiguration: { iceTransportPolicy: 'relay' } });
        window.got = [];
        window.rs.on('message', ({ label, data }) => { if (label === 'probe') window.got.push(data); });
        window.probe = window.rs.openDataChannel('probe');
        await window.rs.join(r);
      }, { t: token, r: room, iceServers: ice.body.iceServers });
      people.push({ page, errors, sub });
    }

    for (const { page, sub } of people) {
      await waitFor(() => page.evaluate(() => window.rs.peers().length === 1 && window.rs.peers()[0].pc.connectionState === 'connected'), {
        timeout: 20_000, interval: 100, message: `${sub}'s peer connection did not reach connected through the relay`,
      }).catch(async (error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await selectedPairs(page, 'rs').catch((e) => e.message))}\ncoturn:\n${coturn.log().slice(-3000)}`);
      });
    }
    // The peers know each other by user id and name: the hub carries identity with the signaling.
    const [alice, bob] = people;
    assert.deepEqual(
      await alice.page.evaluate(() => { const [p] = window.rs.peers(); return { id: p.id, userId: p.userId, name: p.name }; }),
      { id: await bob.page.evaluate(() => window.rs.id), userId: 'bob', name: 'bob in a browser' });
    assert.deepEqual(
      await bob.page.evaluate(() => { const [p] = window.rs.peers(); return { id: p.id, userId: p.userId, name: p.name }; }),
      { id: await alice.page.evaluate(() => window.rs.id), userId: 'alice', name: 'alice in a browser' });
    // Data both ways over a data channel, through the relays.
    for (const [from, to] of [[alice, bob], [bob, alice]]) {
      const text = `hello from ${from.sub} over TURN`;
      await waitFor(async () => {
        await from.page.evaluate((t) => window.probe.send(t), text);
        return to.page.evaluate((t) => window.got.includes(t), text);
      }, { timeout: 10_000, interval: 200, message: `${to.sub} did not receive "${text}"` });
    }
    for (const { page, sub } of people) {
      await assertRelayedSoon(page, 'rs', sub);
      await waitCoturnAllocated(sub);
    }
    for (const { errors, sub } of people) assert.deepEqual(errors, [], `${sub}: page errors`);
    await Promise.all(people.map(({ page }) => page.evaluate(() => window.rs.disconnect())));
  });

  it('the demo with ?relay=1 gets TURN credentials over the hub (GetIceServers) and the video flows through coturn', async () => {
    const room = uniqueRoom('turndemo');
    const demos = [];
    for (const sub of ['carol', 'dave']) {
      const token = mintToken({ sub, name: sub === 'carol' ? 'Carol C.' : undefined, rooms: [room] });
      const demo = await openDemo(browser, server.url, { query: `?relay=1&token=${encodeURIComponent(token)}` });
      contexts.push(demo.context);
      demos.push({ ...demo, sub });
    }
    for (const { page, sub } of demos) {
      const servers = await page.evaluate(() => window.roomsignalDemo.client.iceServers);
      assert.ok(servers.some((s) => new RegExp(`^\\d+:${sub}$`).test(s.username ?? '')), `${sub}: TURN credentials from the server: ${JSON.stringify(servers)}`);
    }

    await joinCall(demos, room);
    await Promise.all(demos.map(({ page }) => assertVideoFlows(page, 1)));

    for (const { page, sub } of demos) {
      await assertRelayedSoon(page, 'demo', sub);
      await waitCoturnAllocated(sub);
    }
    // Each tile is captioned with the other's display name, or its user id when its token has no name.
    const captions = await Promise.all(demos.map(({ page }) => page.$$eval('[data-peer-id] .name', (els) => els.map((el) => el.textContent))));
    assert.deepEqual(captions, [['dave'], ['Carol C.']]);
  });

  it('a wrongly signed credential gets no relay candidate from coturn', async () => {
    const { page } = await openPage();
    const token = mintToken({ sub: 'eve', rooms: ['*'] });
    const result = await withTimeout(page.evaluate(async ({ t }) => {
      const { iceServers } = await (await fetch('/api/ice-servers', { headers: { Authorization: `Bearer ${t}` } })).json();
      const turn = iceServers.find((s) => s.username);
      const forged = { ...turn, credential: btoa('not the hmac coturn computes') };
      const pc = new RTCPeerConnection({ iceServers: [forged], iceTransportPolicy: 'relay' });
      const candidates = [];
      const errors = [];
      pc.onicecandidate = (e) => { if (e.candidate?.candidate) candidates.push(e.candidate.candidate); };
      pc.onicecandidateerror = (e) => errors.push({ url: e.url, errorCode: e.errorCode, errorText: e.errorText });
      pc.createDataChannel('probe');
      await pc.setLocalDescription();
      const deadline = Date.now() + 10_000;
      while (pc.iceGatheringState !== 'complete' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const gathering = pc.iceGatheringState;
      pc.close();
      return { gathering, candidates, errors };
    }, { t: token }), 20_000, 'the forged-credential probe did not finish');

    assert.equal(result.gathering, 'complete', JSON.stringify(result));
    assert.deepEqual(result.candidates, [], `no relay candidate: ${JSON.stringify(result)}`);
    assert.ok(result.errors.some((e) => e.errorCode === 401), `coturn answered 401: ${JSON.stringify(result.errors)}`);
  });
});
