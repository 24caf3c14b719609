// The SDK's accessTokenFactory is asked again when the client reconnects, and the server sees the token it
// returned that time, not the first one. Against a live RoomSignal.Server with auth on and the admin API on: the
// factory mints a token with a different `sub` on each call, and GET /admin/rooms/{room} says which user the
// server believes each member is (the `sub` of the token its connection presented). The reconnect is forced by
// restarting the server on the same port, so the old connection cannot be resumed and a new one must be made.
// A dropped network (a TCP proxy resetting every connection) resumes the same connection with a token asked for
// anew: while the factory hands out tokens the server refuses, the client stays out although its first token is still
// good; once they are good again it is back, as the user of the latest call.
// The SDK runs in node; the room holds only this client, so no RTCPeerConnection is needed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientState, LogLevel, RoomSignalClient } from '../src/index.js';
import { startProxy } from './helpers/proxy.mjs';
import { startServer } from './helpers/server.mjs';
import { mintToken, testSigningKey } from './helpers/tokens.mjs';
import { uniqueRoom } from './helpers/hub.mjs';
import { waitFor, withTimeout } from './helpers/wait.mjs';

const ADMIN_KEY = 'js-test-admin-key-0123456789';
const UNKNOWN_KEY = 'a-key-the-server-does-not-know-0123456789';
const serverEnv = { RoomSignal__Auth__SigningKey: testSigningKey, RoomSignal__Admin__Key: ADMIN_KEY };

let server;
const clients = [];
const proxies = [];

/** The members of `room` as the server lists them, [] when the room does not exist (yet). */
async function membersOf(room) {
  try {
    const res = await fetch(`${server.url}/admin/rooms/${room}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(5_000) });
    if (res.status === 404) return [];
    assert.equal(res.status, 200, `GET /admin/rooms/${room}`);
    return (await res.json()).members;
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return []; // the server is restarting
  }
}

before(async () => {
  server = await startServer({ name: 'auth server', env: serverEnv });
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await Promise.all(proxies.map((p) => p.close()));
  await server?.stop();
});

describe('access token factory', () => {
  it('is called again when the client reconnects, and the server sees the token of that call', async () => {
    const room = uniqueRoom('token');
    const calls = [];
    const client = new RoomSignalClient({
      url: server.hubUrl,
      // Each call is a new user, so the user the server reports names the call whose token it was given.
      accessTokenFactory: () => {
        calls.push(Date.now());
        return mintToken({ sub: `call-${calls.length}`, rooms: [room] });
      },
      serverIceServers: false,
      controlChannel: false,
      healthUrl: null,
      minReconnectDelay: 100,
      maxReconnectDelay: 500,
      logLevel: LogLevel.None, // the failed attempts while the server is down are expected
    });
    clients.push(client);
    const connected = [];
    client.on('connected', (e) => connected.push(e));

    await withTimeout(client.join(room), 10_000, 'the first join');
    const [first] = await waitFor(async () => { const m = await membersOf(room); return m.length === 1 && m; }, { message: 'the server to list the member' });
    const callsBeforeRestart = calls.length;
    assert.ok(callsBeforeRestart >= 1, 'the factory was called for the first connection');
    assert.equal(first.userId, `call-${callsBeforeRestart}`, 'the first connection presented the latest token');
    const firstId = client.id;

    await server.stop();
    server = await startServer({ name: 'auth server (restarted)', port: server.port, env: serverEnv });

    // The client reconnects by itself and rejoins its room on the new server.
    const [again] = await waitFor(async () => { const m = await membersOf(room); return m.length === 1 && m; }, { timeout: 20_000, message: () => `the client to rejoin after the restart (factory calls: ${calls.length}, state: ${client.state})` });
    assert.equal(client.state, ClientState.Connected);
    assert.notEqual(client.id, firstId, 'a new connection, not a resumed one');
    assert.equal(again.connectionId, client.id);
    assert.ok(calls.length > callsBeforeRestart, `the factory was called again (${calls.length} calls, ${callsBeforeRestart} before the restart)`);
    const presented = Number(/^call-(\d+)$/.exec(again.userId ?? '')?.[1]);
    assert.ok(presented > callsBeforeRestart, `the server sees ${again.userId}: a token from a call after the restart, not one of the first ${callsBeforeRestart}`);
    assert.equal(connected.length, 2, `the client reported one new connection: ${JSON.stringify(connected)}`);
  });

  it('is called again when the network drops, and a token the server refuses keeps the client out until a good one comes', async () => {
    const room = uniqueRoom('token-drop');
    const proxy = await startProxy(server.port);
    proxies.push(proxy);
    let good = true;
    const calls = []; // whether each call handed out a good token
    const client = new RoomSignalClient({
      url: `${proxy.url}/hubs/room`,
      accessTokenFactory: () => {
        calls.push(good);
        return mintToken({ sub: `call-${calls.length}`, rooms: [room], key: good ? testSigningKey : UNKNOWN_KEY });
      },
      serverIceServers: false,
      controlChannel: false,
      healthUrl: null,
      minReconnectDelay: 100,
      maxReconnectDelay: 300,
      logLevel: LogLevel.None, // the refused attempts are expected
    });
    clients.push(client);

    await withTimeout(client.join(room), 10_000, 'the first join');
    const firstId = client.id;
    await waitFor(async () => (await membersOf(room)).some((m) => m.connectionId === firstId), { message: 'the server to list the member' });
    const callsBeforeDrop = calls.length;

    good = false;
    proxy.cut();

    // The factory is asked again for the way back in, and the server refuses what it gets: several attempts, none in.
    await waitFor(() => calls.length >= callsBeforeDrop + 3, { message: () => `the factory to be asked again after the drop (${calls.length} calls, ${callsBeforeDrop} before)` });
    assert.notEqual(client.state, ClientState.Connected, 'the client got back in without presenting a token the server accepts');

    good = true;
    await withTimeout(client.ready(), 15_000, 'the client to be back once the factory hands out good tokens');
    const member = await waitFor(async () => (await membersOf(room)).find((m) => m.connectionId === client.id), { timeout: 10_000, message: 'the client to rejoin its room' });
    assert.notEqual(client.id, firstId, 'the old connection could not be resumed with a refused token, so this is a new one');
    const presented = Number(/^call-(\d+)$/.exec(member.userId ?? '')?.[1]);
    assert.ok(presented > callsBeforeDrop && calls[presented - 1] === true,
      `the server sees ${member.userId}: a good token from a call after the drop (calls: ${JSON.stringify(calls)}, ${callsBeforeDrop} before the drop)`);
  });
});
