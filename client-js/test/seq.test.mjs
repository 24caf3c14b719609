// The SDK applies a room's membership events by seq: `created` sets the members at our own join's place,
// a `joined`/`exit` below the room's seq (stale), or at it without changing the members (repeated), is ignored, and an unnumbered one (older
// server) is applied as before. Events are fed to the client's handlers directly, as the hub connection
// would, with a stand-in RTCPeerConnection (no server, no browser needed).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RoomSignalClient } from '../src/index.js';

class FakePeerConnection {
  constructor() {
    this.connectionState = 'new';
    this.signalingState = 'stable';
    this.localDescription = null;
  }
  createDataChannel(label) { return { label, close() {}, addEventListener() {} }; }
  addTrack() { return {}; }
  removeTrack() {}
  getSenders() { return []; }
  getTransceivers() { return []; }
  close() { this.connectionState = 'closed'; }
}

const clients = [];

function clientIn(room) {
  const client = new RoomSignalClient({ url: 'http://127.0.0.1:1/hubs/room', RTCPeerConnection: FakePeerConnection, controlChannel: false, initialOfferWait: 0 });
  clients.push(client);
  client._id = 'me';
  client._rooms.set(room, { name: room, joined: false, seq: null, peers: new Map() });
  const seen = [];
  client.on('peerJoined', ({ peerId }) => seen.push(`+${peerId}@${client.roomSeq(room)}`));
  client.on('peerLeft', ({ peerId }) => seen.push(`-${peerId}@${client.roomSeq(room)}`));
  return { client, seen, ids: () => client.peers(room).map((p) => p.id).sort() };
}

afterEach(() => {
  for (const client of clients.splice(0)) client._closeAllPeers('left');
});

describe('membership events by seq', () => {
  it('created sets the members and the seq; later events apply once, stale and repeated ones are ignored', () => {
    const { client, seen, ids } = clientIn('r');
    client._onCreated({ id: 'me', room: 'r', peers: [{ id: 'a' }, { id: 'b' }], seq: 5 });
    assert.deepEqual(ids(), ['a', 'b']);
    assert.equal(client.roomSeq('r'), 5);

    client._onJoined({ id: 'c', room: 'r', seq: 6 });
    client._onJoined({ id: 'c', room: 'r', seq: 6 }); // the same change again
    client._onExit({ from: 'a', room: 'r', seq: 4 }); // older than our join: already in created
    client._onJoined({ id: 'old', room: 'r', seq: 5 }); // below the room's seq
    client._onExit({ from: 'b', room: 'r', seq: 7 });
    client._onExit({ from: 'b', room: 'r', seq: 7 });

    assert.deepEqual(ids(), ['a', 'c']);
    assert.equal(client.roomSeq('r'), 7);
    assert.deepEqual(seen, ['+a@5', '+b@5', '+c@6', '-b@7']);
  });

  it('a recovery\'s difference, several changes under the room\'s current seq, applies once each', () => {
    const { client, seen, ids } = clientIn('r');
    client._onCreated({ id: 'me', room: 'r', peers: [{ id: 'a' }, { id: 'b' }], seq: 5 });
    client._onJoined({ id: 'c', room: 'r', seq: 9 });
    client._onExit({ from: 'a', room: 'r', seq: 9 });
    client._onJoined({ id: 'd', room: 'r', seq: 9 });
    client._onJoined({ id: 'd', room: 'r', seq: 9 }); // a repeat changes nothing
    client._onExit({ from: 'a', room: 'r', seq: 9 });
    assert.deepEqual(ids(), ['b', 'c', 'd']);
    assert.equal(client.roomSeq('r'), 9);
    assert.deepEqual(seen, ['+a@5', '+b@5', '+c@9', '-a@9', '+d@9']);
  });

  it('created replaces whatever arrived before it (a departed membership\'s last events)', () => {
    const { client, ids } = clientIn('r');
    client._onJoined({ id: 'ghost', room: 'r', seq: 2 });
    client._onCreated({ id: 'me', room: 'r', peers: [{ id: 'a' }], seq: 9 });
    assert.deepEqual(ids(), ['a']);
    client._onExit({ from: 'ghost', room: 'r', seq: 3 });
    assert.deepEqual(ids(), ['a']);
  });

  it('joining again while in the room changes nothing', () => {
    const { client, ids } = clientIn('r');
    client._onCreated({ id: 'me', room: 'r', peers: [{ id: 'a' }], seq: 3 });
    client._rooms.get('r').joined = true;
    client._onJoined({ id: 'b', room: 'r', seq: 4 });
    client._onCreated({ id: 'me', room: 'r', peers: [{ id: 'a' }, { id: 'b' }], seq: 4 });
    assert.deepEqual(ids(), ['a', 'b']);
    assert.equal(client.roomSeq('r'), 4);
  });

  it('events without seq or with seq 0 (a server that does not number changes) are applied as they come', () => {
    const { client, ids } = clientIn('r');
    client._onCreated({ id: 'me', room: 'r', peers: [{ id: 'a' }] }); // the join result sets the members then
    client._onJoined({ id: 'b', room: 'r' });
    client._onJoined({ id: 'c', room: 'r' });
    client._onExit({ from: 'b', room: 'r' });
    client._onJoined({ id: 'd', room: 'r', seq: 0 }); // 0: not numbered either
    assert.deepEqual(ids(), ['c', 'd']);
    assert.equal(client.roomSeq('r'), null);
  });
});
