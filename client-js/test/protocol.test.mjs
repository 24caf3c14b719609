// The wire contract (../../../shared/PROTOCOL.md, docs/protocol.md) proven with the official
// @microsoft/signalr JavaScript client against a live RoomSignal.Server: every hub method, every
// rule, and every bad-input row.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer } from './helpers/server.mjs';
import { TEST_PROTOCOL, connectClient, expectHubError, uniqueRoom } from './helpers/hub.mjs';
import { waitFor } from './helpers/wait.mjs';

const SMALL_ROOM_CAPACITY = 3;
let server;
let smallServer;
const clients = [];

async function client(url = server.hubUrl, options) {
  const c = await connectClient(url, options);
  clients.push(c);
  return c;
}

/** Clients that are all members of one fresh room, in joining order. */
async function room(count, url) {
  const name = uniqueRoom();
  const members = [];
  for (let i = 0; i < count; i++) {
    const c = await client(url);
    await c.join(name);
    members.push(c);
  }
  return { name, members };
}

/** Sends an offer from `from` to `to` and waits until it arrives: everything `from` sent earlier to `to` has arrived too. */
async function barrier(from, to, roomName) {
  const sdp = `barrier-${Math.random()}`;
  await from.invoke('Offer', { to: to.id, room: roomName, sdp });
  await to.next('offer', (m) => m.sdp === sdp);
}

before(async () => {
  [server, smallServer] = await Promise.all([
    startServer({ name: 'server' }),
    startServer({ name: 'small-room server', env: { RoomSignal__Rooms__MaxPeers: String(SMALL_ROOM_CAPACITY) } }),
  ]);
});

after(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await Promise.all([server?.stop(), smallServer?.stop()]);
});

describe('transport', () => {
  it('serves the demo page at /, liveness at /healthz and readiness at /readyz', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="js\/demo\.js">/);
    const bundle = await fetch(`${server.url}/js/roomsignal.js`);
    assert.equal(bundle.status, 200, 'the SDK bundle is served');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });

  it('accepts a negotiated connection and a direct WebSocket without negotiation', async () => {
    const negotiated = await client(server.hubUrl);
    const direct = await client(server.hubUrl, { skipNegotiation: true });
    const name = uniqueRoom();
    await negotiated.join(name);
    const joined = await direct.join(name);
    assert.deepEqual(joined.peers, [{ id: negotiated.id }]);
  });

  it(`speaks the suite's hub protocol (${TEST_PROTOCOL})`, async () => {
    const c = await client();
    // No public accessor for the negotiated protocol: read the client's own field.
    assert.equal(c.connection._protocol.name, TEST_PROTOCOL);
    assert.deepEqual(Object.keys(await c.join(uniqueRoom())).sort(), ['id', 'peers', 'room', 'seq']);
  });

  it('accepts a stateful-reconnect connection', async () => {
    const stateful = await client(server.hubUrl, { stateful: true });
    const result = await stateful.join(uniqueRoom());
    assert.equal(result.id, stateful.id);
  });
});

describe('CreateAndJoinRoom', () => {
  it('returns {id, room, peers, seq} with the caller excluded, and sends the caller `created` with the same payload', async () => {
    const name = uniqueRoom();
    const a = await client();
    const first = await a.join(name);
    assert.deepEqual(first, { id: a.id, room: name, peers: [], seq: 1 });
    assert.deepEqual(await a.next('created', (m) => m.room === name), first);

    const b = await client();
    const second = await b.join(name);
    assert.deepEqual(second, { id: b.id, room: name, peers: [{ id: a.id }], seq: 2 });
    assert.deepEqual(await b.next('created', (m) => m.room === name), second);
  });

  it('sends every other member `joined {id, room}`, and not the joiner', async () => {
    const { name, members: [a, b] } = await room(2);
    const c = await client();
    await c.join(name);
    assert.deepEqual(await a.next('joined', (m) => m.id === c.id), { id: c.id, room: name, seq: 3 });
    assert.deepEqual(await b.next('joined', (m) => m.id === c.id), { id: c.id, room: name, seq: 3 });
    await barrier(a, c, name);
    assert.equal(c.received('joined').length, 0, 'the joiner is not told about itself');
  });
});

describe('Exit', () => {
  it('removes the caller; the other members receive `exit {from, room}`', async () => {
    const { name, members: [a, b, c] } = await room(3);
    await a.exit(name);
    assert.deepEqual(await b.next('exit'), { from: a.id, room: name, seq: 4 });
    assert.deepEqual(await c.next('exit'), { from: a.id, room: name, seq: 4 });
    const d = await client();
    const joined = await d.join(name);
    assert.deepEqual(joined.peers.map((p) => p.id).sort(), [b.id, c.id].sort(), 'the leaver is no longer listed');
    await expectHubError(b.invoke('Offer', { to: a.id, room: name, sdp: 'x' }), 'to:');
  });

  it('leaving a room you are not in changes nothing and tells nobody', async () => {
    const { name, members: [a, b] } = await room(2);
    const outsider = await client();
    await outsider.exit(name);
    await barrier(a, b, name);
    assert.equal(b.received('exit').length, 0);
  });
});

describe('relays', () => {
  it('Offer reaches only its target as `offer {from, to, room, sdp}`', async () => {
    const { name, members: [a, b, c] } = await room(3);
    await a.invoke('Offer', { to: b.id, room: name, sdp: 'v=0 offer' });
    assert.deepEqual(await b.next('offer'), { from: a.id, to: b.id, room: name, sdp: 'v=0 offer' });
    await barrier(a, c, name);
    assert.equal(c.received('offer', (m) => m.sdp === 'v=0 offer').length, 0, 'a relay reaches only its target');
  });

  it('Answer reaches its target as `answer {from, to, room, sdp}`', async () => {
    const { name, members: [a, b] } = await room(2);
    await b.invoke('Answer', { to: a.id, room: name, sdp: 'v=0 answer' });
    assert.deepEqual(await a.next('answer'), { from: b.id, to: a.id, room: name, sdp: 'v=0 answer' });
  });

  it('Candidate reaches its target as `candidate {from, to, room, candidate}` with all four fields', async () => {
    const { name, members: [a, b] } = await room(2);
    const candidate = {
      candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0',
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'abcd',
    };
    await a.invoke('Candidate', { to: b.id, room: name, candidate });
    assert.deepEqual(await b.next('candidate'), { from: a.id, to: b.id, room: name, candidate });
  });

  it('relays end-of-candidates (an empty candidate, sdpMid and sdpMLineIndex null)', async () => {
    const { name, members: [a, b] } = await room(2);
    const end = { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: null };
    await a.invoke('Candidate', { to: b.id, room: name, candidate: end });
    const got = await b.next('candidate');
    assert.equal(got.candidate.candidate, '');
    assert.equal(got.candidate.sdpMid ?? null, null);
    assert.equal(got.candidate.sdpMLineIndex ?? null, null);
  });

  it('a relay can travel both ways many times, in order', async () => {
    const { name, members: [a, b] } = await room(2);
    for (let i = 0; i < 20; i++) {
      a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: `candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } });
    }
    await waitFor(() => b.received('candidate').length === 20, { timeout: 5_000, message: 'not all 20 candidates arrived' });
    assert.deepEqual(b.received('candidate').map((m) => Number(/^candidate:(\d+)/.exec(m.candidate.candidate)[1])), [...Array(20).keys()]);
  });
});

describe('rule 1: `from` is stamped by the server', () => {
  it('ignores a `from` the sender puts in its message', async () => {
    const { name, members: [a, b, c] } = await room(3);
    await a.invoke('Offer', { to: b.id, room: name, sdp: 'spoof', from: c.id });
    const got = await b.next('offer', (m) => m.sdp === 'spoof');
    assert.equal(got.from, a.id);
    await a.invoke('Candidate', { to: b.id, room: name, from: c.id, candidate: { candidate: 'candidate:9 1 udp 1 192.0.2.9 9 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } });
    assert.equal((await b.next('candidate')).from, a.id);
  });
});

describe('rule 2: relays only between members of the same room', () => {
  it('refuses a relay to a connection that is not in the room, and delivers nothing', async () => {
    const { name, members: [a] } = await room(1);
    const outsider = await client();
    await outsider.join(uniqueRoom());
    await expectHubError(a.invoke('Offer', { to: outsider.id, room: name, sdp: 'nope' }), 'to:');
    await expectHubError(a.invoke('Candidate', { to: outsider.id, room: name, candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: null } }), 'to:');
    assert.equal(outsider.received('offer').length + outsider.received('candidate').length, 0);
  });

  it('refuses a relay from a sender that is not in the room', async () => {
    const { name, members: [b] } = await room(1);
    const outsider = await client();
    await expectHubError(outsider.invoke('Answer', { to: b.id, room: name, sdp: 'nope' }), 'room:');
    const c = await client();
    await c.join(name);
    await barrier(c, b, name);
    assert.equal(b.received('answer').length, 0);
  });

  it('refuses a relay naming a room the two do not share, even when they share another', async () => {
    const shared = uniqueRoom();
    const onlyA = uniqueRoom();
    const a = await client();
    const b = await client();
    await a.join(shared);
    await b.join(shared);
    await a.join(onlyA);
    await expectHubError(a.invoke('Offer', { to: b.id, room: onlyA, sdp: 'wrong room' }), 'to:');
    await barrier(a, b, shared);
    assert.equal(b.received('offer', (m) => m.sdp === 'wrong room').length, 0);
  });

  it('refuses a relay to an id no connection has', async () => {
    const { name, members: [a] } = await room(1);
    await expectHubError(a.invoke('Offer', { to: 'no-such-connection', room: name, sdp: 'x' }), 'to:');
    assert.ok(a.connected, 'the connection stays usable');
  });
});

describe('rule 3: joining twice is idempotent', () => {
  it('returns the current peers and sends no second `joined`', async () => {
    const { name, members: [a, b] } = await room(2);
    const again = await b.join(name);
    assert.deepEqual(again, { id: b.id, room: name, peers: [{ id: a.id }], seq: 2 }, 'the room did not change: its current seq');
    await barrier(b, a, name);
    assert.equal(a.received('joined', (m) => m.id === b.id).length, 1, 'exactly one `joined` for b');
  });
});

describe('rule 4: one connection in several rooms', () => {
  it('relays in each room and is listed in each', async () => {
    const r1 = uniqueRoom();
    const r2 = uniqueRoom();
    const a = await client();
    const b = await client();
    const c = await client();
    await b.join(r1);
    await c.join(r2);
    assert.deepEqual((await a.join(r1)).peers, [{ id: b.id }]);
    assert.deepEqual((await a.join(r2)).peers, [{ id: c.id }]);
    await a.invoke('Offer', { to: b.id, room: r1, sdp: 'to b' });
    await a.invoke('Offer', { to: c.id, room: r2, sdp: 'to c' });
    assert.equal((await b.next('offer')).room, r1);
    assert.equal((await c.next('offer')).room, r2);
    await a.exit(r1);
    assert.deepEqual(await b.next('exit'), { from: a.id, room: r1, seq: 3 });
    await a.invoke('Offer', { to: c.id, room: r2, sdp: 'still in r2' });
    await c.next('offer', (m) => m.sdp === 'still in r2');
    assert.equal(c.received('exit').length, 0, 'leaving r1 is not news in r2');
  });
});

describe('rule 5: disconnect', () => {
  it('tells the members of every room the connection was in, and only them', async () => {
    const r1 = uniqueRoom();
    const r2 = uniqueRoom();
    const elsewhere = uniqueRoom();
    const a = await client();
    const b = await client();
    const c = await client();
    const d = await client();
    await a.join(r1);
    await a.join(r2);
    await b.join(r1);
    await c.join(r2);
    await d.join(elsewhere);
    const aId = a.id;
    await a.connection.stop();
    assert.deepEqual(await b.next('exit'), { from: aId, room: r1, seq: 3 });
    assert.deepEqual(await c.next('exit'), { from: aId, room: r2, seq: 3 });
    // d is in no room with a: let b reach d through a shared room; anything for d from a's exit came first.
    await b.join(elsewhere);
    await d.next('joined', (m) => m.id === b.id);
    assert.equal(d.received('exit').length, 0, 'members of other rooms are not told');
    await expectHubError(b.invoke('Offer', { to: aId, room: r1, sdp: 'gone' }), 'to:');
    const e = await client();
    assert.deepEqual((await e.join(r1)).peers, [{ id: b.id }], 'the memberships are removed');
  });

  it('also tells them when the connection drops without a goodbye', async () => {
    const { name, members: [a, b] } = await room(2);
    const aId = a.id;
    // Terminate the WebSocket under the client, as a crashed tab or a cut cable would.
    const transport = a.connection.connection.transport;
    assert.ok(transport?._webSocket, 'the test reaches the raw WebSocket');
    transport._webSocket.terminate?.() ?? transport._webSocket.close();
    assert.deepEqual(await b.next('exit', undefined, 10_000), { from: aId, room: name, seq: 3 });
  });
});

describe('rule 6: room capacity', () => {
  it(`a room holds at most RoomSignal:Rooms:MaxPeers (${SMALL_ROOM_CAPACITY} here) members; joining a full room fails`, async () => {
    const { name, members } = await room(SMALL_ROOM_CAPACITY, smallServer.hubUrl);
    const late = await client(smallServer.hubUrl);
    await expectHubError(late.join(name), 'room:');
    assert.ok(late.connected, 'the refused joiner stays connected');
    await barrier(members[1], members[0], name);
    assert.equal(members[0].received('joined', (m) => m.id === late.id).length, 0, 'nobody hears of a refused joiner');
    await members[2].exit(name);
    const joined = await late.join(name);
    assert.equal(joined.peers.length, SMALL_ROOM_CAPACITY - 1, 'a freed place can be taken');
  });

  it('holds when many join a small room at once', async () => {
    const name = uniqueRoom();
    const racers = await Promise.all(Array.from({ length: 8 }, () => client(smallServer.hubUrl)));
    const results = await Promise.allSettled(racers.map((c) => c.join(name)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, SMALL_ROOM_CAPACITY, `exactly ${SMALL_ROOM_CAPACITY} of 8 racing joiners get in`);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      assert.match(String(r.reason.message), /HubException: room:/);
    }
  });
});

describe('rule 7: joins are atomic', () => {
  it('of two clients joining at once, exactly one lists the other and the other receives `joined`', async () => {
    for (let round = 0; round < 10; round++) {
      const name = uniqueRoom('race');
      const [x, y] = await Promise.all([client(), client()]);
      const [rx, ry] = await Promise.all([x.join(name), y.join(name)]);
      const xListsY = rx.peers.some((p) => p.id === y.id);
      const yListsX = ry.peers.some((p) => p.id === x.id);
      assert.notEqual(xListsY, yListsX, 'exactly one of the two lists the other');
      const [first, second] = xListsY ? [y, x] : [x, y];
      await first.next('joined', (m) => m.id === second.id && m.room === name);
      assert.equal(second.received('joined', (m) => m.room === name).length, 0);
      await Promise.all([x.stop(), y.stop()]);
    }
  });

  it('nobody misses anybody when ten join at once', async () => {
    const name = uniqueRoom('crowd');
    const crowd = await Promise.all(Array.from({ length: 10 }, () => client()));
    const results = await Promise.all(crowd.map((c) => c.join(name)));
    for (let i = 0; i < crowd.length; i++) {
      for (let j = i + 1; j < crowd.length; j++) {
        const iListsJ = results[i].peers.some((p) => p.id === crowd[j].id);
        const jListsI = results[j].peers.some((p) => p.id === crowd[i].id);
        assert.notEqual(iListsJ, jListsI, `exactly one of clients ${i} and ${j} lists the other`);
        const [earlier, later] = iListsJ ? [crowd[j], crowd[i]] : [crowd[i], crowd[j]];
        await earlier.next('joined', (m) => m.id === later.id && m.room === name);
      }
    }
    for (const c of crowd) await c.stop();
  });
});

describe('bad input: the invocation fails naming the field; the connection stays usable; nothing is relayed', () => {
  const longRoom = 'r'.repeat(65);
  const badRooms = [['empty', ''], ['65 characters', longRoom], ['a space', 'a b'], ['a slash', 'a/b'], ['non-ASCII', 'café'], ['missing', undefined]];

  for (const [what, value] of badRooms) {
    it(`CreateAndJoinRoom refuses a room that is ${what}`, async () => {
      const c = await client();
      await expectHubError(c.invoke('CreateAndJoinRoom', value === undefined ? {} : { room: value }), 'room:');
      assert.ok(c.connected);
      assert.equal((await c.join(uniqueRoom())).id, c.id, 'the next valid call works');
    });
  }

  it('accepts a room of exactly 64 allowed characters', async () => {
    const c = await client();
    const name = `${uniqueRoom('edge')}_.:-`.padEnd(64, 'Z');
    assert.equal((await c.join(name)).room, name);
  });

  it('Exit refuses a bad room', async () => {
    const c = await client();
    await expectHubError(c.invoke('Exit', { room: 'no spaces' }), 'room:');
    await expectHubError(c.invoke('Exit', {}), 'room:');
    assert.ok(c.connected);
  });

  it('relays refuse a bad room', async () => {
    const { members: [a, b] } = await room(2);
    await expectHubError(a.invoke('Offer', { to: b.id, room: longRoom, sdp: 'x' }), 'room:');
    await expectHubError(a.invoke('Candidate', { to: b.id, room: '', candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: null } }), 'room:');
  });

  it('relays refuse an empty, missing or over-long `to`', async () => {
    const { name, members: [a, b] } = await room(2);
    await expectHubError(a.invoke('Offer', { to: '', room: name, sdp: 'x' }), 'to:');
    await expectHubError(a.invoke('Answer', { room: name, sdp: 'x' }), 'to:');
    await expectHubError(a.invoke('Offer', { to: 'x'.repeat(129), room: name, sdp: 'x' }), 'to:');
    await barrier(a, b, name);
    assert.equal(b.received('offer').length, 1, 'only the barrier arrived');
    assert.equal(b.received('answer').length, 0);
  });

  it('Offer and Answer refuse an empty, missing or over-64-KiB sdp, and accept exactly 64 KiB', async () => {
    const { name, members: [a, b] } = await room(2);
    await expectHubError(a.invoke('Offer', { to: b.id, room: name, sdp: '' }), 'sdp:');
    await expectHubError(a.invoke('Answer', { to: b.id, room: name }), 'sdp:');
    await expectHubError(a.invoke('Offer', { to: b.id, room: name, sdp: 's'.repeat(64 * 1024 + 1) }), 'sdp:');
    await a.invoke('Offer', { to: b.id, room: name, sdp: 's'.repeat(64 * 1024) });
    const got = await b.next('offer');
    assert.equal(got.sdp.length, 64 * 1024, 'the first offer to arrive is the valid one');
    assert.equal(b.received('offer').length, 1);
    assert.equal(b.received('answer').length, 0);
  });

  it('Candidate refuses a missing candidate', async () => {
    const { name, members: [a, b] } = await room(2);
    await expectHubError(a.invoke('Candidate', { to: b.id, room: name }), /^candidate\b/);
  });

  it('Candidate refuses a candidate line over 2048 characters and accepts 2048', async () => {
    const { name, members: [a, b] } = await room(2);
    const line = (n) => 'candidate:1 1 udp 1 192.0.2.1 9 typ host '.padEnd(n, 'x');
    await expectHubError(a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: line(2049), sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } }), 'candidate.candidate:');
    await a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: line(2048), sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } });
    assert.equal((await b.next('candidate')).candidate.candidate.length, 2048);
    assert.equal(b.received('candidate').length, 1);
  });

  it('Candidate refuses an sdpMid over 64 characters', async () => {
    const { name, members: [a, b] } = await room(2);
    await expectHubError(a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: 'm'.repeat(65), sdpMLineIndex: 0, usernameFragment: null } }), 'candidate.sdpMid:');
    await a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: 'm'.repeat(64), sdpMLineIndex: null, usernameFragment: null } });
    assert.equal((await b.next('candidate')).candidate.sdpMid.length, 64);
  });

  it('Candidate refuses a non-empty candidate with neither sdpMid nor sdpMLineIndex', async () => {
    const { name, members: [a, b] } = await room(2);
    await expectHubError(a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: null, sdpMLineIndex: null, usernameFragment: null } }), /^candidate\.(sdpMid|sdpMLineIndex):/);
    await barrier(a, b, name);
    assert.equal(b.received('candidate').length, 0);
  });

  it('Candidate refuses an sdpMLineIndex outside 0-1023', async () => {
    const { name, members: [a, b] } = await room(2);
    for (const index of [-1, 1024]) {
      await expectHubError(a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: null, sdpMLineIndex: index, usernameFragment: null } }), 'candidate.sdpMLineIndex:');
    }
    await a.invoke('Candidate', { to: b.id, room: name, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: null, sdpMLineIndex: 1023, usernameFragment: null } });
    assert.equal((await b.next('candidate')).candidate.sdpMLineIndex, 1023);
  });

  it('a message over 128 KiB closes that connection only; the room hears it left', async () => {
    const { name, members: [a, b] } = await room(2);
    const aId = a.id;
    a.invoke('Offer', { to: b.id, room: name, sdp: 'z'.repeat(140 * 1024) }).catch(() => {});
    await waitFor(() => a.closed, { timeout: 10_000, message: 'the oversized sender was not disconnected' });
    assert.deepEqual(await b.next('exit'), { from: aId, room: name, seq: 3 });
    assert.ok(b.connected, 'the other member is unaffected');
    assert.equal(b.received('offer').length, 0);
  });
});
