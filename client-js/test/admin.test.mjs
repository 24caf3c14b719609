// The SDK surfaces an admin removal: against a live RoomSignal.Server with the admin API on, a member removed with
// DELETE /admin/rooms/{room}/members/{id} gets `removed` (and `left`), drops the room (so it would not rejoin it on a
// reconnect), closes its peers of that room, stays connected and can join again; the others see the peer leave.
// The SDK runs in node with a stand-in RTCPeerConnection (signaling only; media is the browser suites' business).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientState, PeerLeftReason, RoomSignalClient } from '../src/index.js';
import { startServer } from './helpers/server.mjs';
import { uniqueRoom } from './helpers/hub.mjs';
import { waitFor, withTimeout } from './helpers/wait.mjs';

const ADMIN_KEY = 'js-test-admin-key-0123456789';

class FakePeerConnection {
  constructor() {
    this.connectionState = 'new';
    this.signalingState = 'stable';
    this.localDescription = null;
  }
  createDataChannel(label) { return { label, close() {}, addEventListener() {} }; }
  addEventListener() {}
  removeEventListener() {}
  addTrack() { return {}; }
  removeTrack() {}
  getSenders() { return []; }
  getTransceivers() { return []; }
  close() { this.connectionState = 'closed'; }
}

let server;
const clients = [];

function sdkClient() {
  const client = new RoomSignalClient({
    url: server.hubUrl, RTCPeerConnection: FakePeerConnection, controlChannel: false, initialOfferWait: 60_000, healthUrl: null,
  });
  const events = [];
  for (const name of ['removed', 'left', 'peerJoined', 'peerLeft']) client.on(name, (e) => events.push({ name, ...e }));
  clients.push(client);
  return { client, events };
}

async function adminDelete(path) {
  const res = await fetch(`${server.url}${path}`, { method: 'DELETE', headers: { Authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(10_000) });
  return res.status;
}

before(async () => {
  server = await startServer({ name: 'admin server', env: { RoomSignal__Admin__Key: ADMIN_KEY } });
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

describe('admin removal', () => {
  it('emits removed with the reason, drops the room, stays connected and can join again', async () => {
    const alice = sdkClient();
    const bob = sdkClient();
    const room = uniqueRoom();
    await withTimeout(alice.client.join(room), 10_000, 'alice joins');
    await withTimeout(bob.client.join(room), 10_000, 'bob joins');
    await waitFor(() => alice.client.getPeer(room, bob.client.id), { message: 'alice meets bob' });

    assert.equal(await adminDelete(`/admin/rooms/${room}/members/${bob.client.id}?reason=${encodeURIComponent('be nice')}`), 204);

    const removed = await waitFor(() => bob.events.find((e) => e.name === 'removed'), { message: 'bob hears removed' });
    assert.deepEqual({ room: removed.room, reason: removed.reason }, { room, reason: 'be nice' });
    assert.ok(bob.events.some((e) => e.name === 'left' && e.room === room && e.reason === 'removed'), 'left follows with reason removed');
    assert.ok(bob.events.some((e) => e.name === 'peerLeft' && e.peerId === alice.client.id && e.reason === PeerLeftReason.Removed), 'its peers of the room are closed');
    assert.deepEqual(bob.client.rooms, [], 'the room is dropped: it would not be rejoined on a reconnect');
    assert.deepEqual(bob.client.peers(room), []);
    assert.equal(bob.client.state, ClientState.Connected);
    await waitFor(() => alice.events.some((e) => e.name === 'peerLeft' && e.peerId === bob.client.id && e.reason === PeerLeftReason.Exit), { message: 'alice sees bob go' });
    assert.equal(alice.events.filter((e) => e.name === 'removed').length, 0, 'only the removed member hears removed');

    const again = await withTimeout(bob.client.join(room), 10_000, 'bob joins again');
    assert.deepEqual(again.peers, [alice.client.id]);
    await waitFor(() => alice.client.getPeer(room, bob.client.id), { message: 'alice meets bob again' });
  });

  it('a whole room removed: every member hears removed', async () => {
    const alice = sdkClient();
    const bob = sdkClient();
    const room = uniqueRoom();
    await withTimeout(alice.client.join(room), 10_000, 'alice joins');
    await withTimeout(bob.client.join(room), 10_000, 'bob joins');

    assert.equal(await adminDelete(`/admin/rooms/${room}`), 204);

    for (const member of [alice, bob]) {
      const removed = await waitFor(() => member.events.find((e) => e.name === 'removed'), { message: 'removed arrives' });
      assert.deepEqual({ room: removed.room, reason: removed.reason }, { room, reason: 'removed by an administrator' });
      assert.deepEqual(member.client.rooms, []);
    }
  });
});
