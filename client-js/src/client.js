// RoomSignalClient: one SignalR connection to the RoomSignal hub, the rooms this client is in,
// and one Peer (RTCPeerConnection) per remote member of each room.

import { HubConnectionBuilder, HubConnectionState, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { Emitter } from './emitter.js';
import { Peer } from './peer.js';
import { createResumingWebSocket } from './resuming-websocket.js';

/** The states of a client. */
export const ClientState = Object.freeze({
  Disconnected: 'disconnected',
  Connecting: 'connecting',
  Connected: 'connected',
  Reconnecting: 'reconnecting',
});

/** Why a peer went away (the `reason` of `peerLeft`). */
export const PeerLeftReason = Object.freeze({
  Exit: 'exit',
  Left: 'left',
  Reconnect: 'reconnect',
  Disconnect: 'disconnect',
  Removed: 'removed',
});

/** The hub protocols a RoomSignal server speaks (the `protocol` option). */
export const HubProtocol = Object.freeze({
  Json: 'json',
  MessagePack: 'messagepack',
});

/** The hub path on a RoomSignal server. */
export const HUB_PATH = '/hubs/room';

const ROOM_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Documented defaults; options passed to the constructor are merged over these. */
export const defaultOptions = Object.freeze({
  url: undefined,
  iceServers: [],
  serverIceServers: true,
  accessToken: undefined,
  accessTokenFactory: undefined,
  rtcConfiguration: undefined,
  minReconnectDelay: 500,
  maxReconnectDelay: 10_000,
  resumeWindow: 10_000,
  healthUrl: undefined,
  statefulReconnectBufferSize: 100_000,
  iceRestartDelay: 3_000,
  initialOfferWait: 2_000,
  connectTimeout: 10_000,
  controlChannel: true,
  skipNegotiation: false,
  transport: undefined,
  protocol: HubProtocol.Json,
  logLevel: LogLevel.Warning,
  logger: undefined,
  WebSocket: undefined,
  RTCPeerConnection: undefined,
});

/** Throws a TypeError naming the rule when `room` is not a valid room name. */
export function validateRoom(room) {
  if (typeof room !== 'string' || !ROOM_PATTERN.test(room)) {
    throw new TypeError('room: must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  }
}

/** The SCTP stream id a shared data channel with this label uses when none is given (512-1021). */
export function sharedChannelId(label) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 512 + (hash % 510);
}

/** The key of a shared data channel group: its room (`*` for every room) and label. */
function groupKey(room, label) {
  return `${room ?? '*'}\u0000${label}`;
}

function backoff(attempt, min, max) {
  const exp = Math.min(max, min * 2 ** Math.min(attempt, 16));
  // Full jitter between half and all of the exponential delay keeps a crowd of clients apart.
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

function defaultUrl() {
  if (typeof globalThis.location === 'object' && globalThis.location?.href) {
    return new URL(HUB_PATH, globalThis.location.href).href;
  }
  throw new TypeError('url: required outside a browser page (e.g. http://127.0.0.1:5000/hubs/room)');
}

/**
 * A data channel with one label, open to every peer (of one room, or of all rooms), present and
 * future. Both ends open it with the same label; it is negotiated out of band with a fixed SCTP
 * stream id, so the two ends meet on one channel and never race to create two.
 */
export class DataChannelGroup {
  constructor(client, label, room, init) {
    this._client = client;
    this.label = label;
    this.room = room;
    this.init = init;
    this._closed = false;
    /** @type {Map<Peer, RTCDataChannel>} */
    this._byPeer = new Map();
  }

  /** Every channel of this group, whatever its readyState. */
  channels() {
    return [...this._byPeer.values()];
  }

  /** Sends to every peer whose channel is open; returns how many it was sent to. */
  send(data) {
    let sent = 0;
    for (const channel of this._byPeer.values()) {
      if (channel.readyState === 'open') {
        channel.send(data);
        sent++;
      }
    }
    return sent;
  }

  /** Closes the channel on every peer and stops opening it for new peers. */
  close() {
    if (this._closed) return;
    this._closed = true;
    this._client._sharedChannels.delete(groupKey(this.room, this.label));
    for (const channel of this._byPeer.values()) {
      try { channel.close(); } catch { /* already closed */ }
    }
    this._byPeer.clear();
  }

  _matches(peer) {
    return !this._closed && (this.room === null || this.room === peer.room);
  }

  _attach(peer) {
    if (!this._matches(peer) || this._byPeer.has(peer) || peer.closed) return;
    const channel = peer.createDataChannel(this.label, this.init);
    this._byPeer.set(peer, channel);
  }

  _detach(peer) {
    this._byPeer.delete(peer);
  }
}

/**
 * The RoomSignal browser client. See index.d.ts for the documented API.
 */
export class RoomSignalClient extends Emitter {
  constructor(options = {}) {
    super();
    const merged = { ...defaultOptions };
    for (const [key, value] of Object.entries(options ?? {})) {
      if (value !== undefined) merged[key] = value;
    }
    merged.url = merged.url ?? defaultUrl();
    if (!Object.values(HubProtocol).includes(merged.protocol)) {
      throw new TypeError(`protocol: must be 'json' or 'messagepack', not ${JSON.stringify(merged.protocol)}`);
    }
    this.options = Object.freeze(merged);
    this._state = ClientState.Disconnected;
    this._id = null;
    this._conn = null;
    this._stopRequested = false;
    this._wake = null;
    /** @type {Map<string, {name: string, joined: boolean, seq: number | null, peers: Map<string, Peer>}>} */
    this._rooms = new Map();
    /** @type {Map<string, Promise<any>>} */
    this._joining = new Map();
    /** @type {{track: MediaStreamTrack, streams: MediaStream[]}[]} */
    this._local = [];
    /** @type {Map<string, DataChannelGroup>} */
    this._sharedChannels = new Map();
    this._rtcConfiguration = { iceServers: [] };
    /** The servers from `iceServers` (the user's) and from the server's GetIceServers(), kept apart so a refresh replaces only the latter. */
    this._userIceServers = [];
    this._serverIceServers = [];
    this._iceRefreshTimer = null;
  }

  /** The ICE servers new peer connections use now: the `iceServers` option's, then the server's (with fresh TURN credentials). */
  get iceServers() {
    return [...this._rtcConfiguration.iceServers];
  }

  /** The client's state. */
  get state() {
    return this._state;
  }

  /** Our connection id while connected, else null. */
  get id() {
    return this._state === ClientState.Connected || this._state === ClientState.Reconnecting ? this._id : null;
  }

  /** The rooms this client is in or joining. */
  get rooms() {
    return [...this._rooms.keys()];
  }

  /** The local tracks sent to every peer. */
  get localTracks() {
    return this._local.map((e) => e.track);
  }

  /** The underlying SignalR HubConnection (null while disconnected). */
  get connection() {
    return this._conn;
  }

  // ---- connection ----------------------------------------------------------------------

  /** Starts connecting (and keeps trying until connected or disconnect() is called). */
  connect() {
    if (this._state !== ClientState.Disconnected) return;
    this._stopRequested = false;
    this._setState(ClientState.Connecting);
    this._connectLoop();
  }

  /** Closes every peer connection and the hub connection. Rooms are remembered and rejoined on the next connect(). */
  async disconnect() {
    this._stopRequested = true;
    this._wake?.();
    const conn = this._conn;
    this._conn = null;
    this._stopIceRefresh();
    this._closeAllPeers(PeerLeftReason.Disconnect);
    const wasDisconnected = this._state === ClientState.Disconnected;
    this._setState(ClientState.Disconnected);
    if (!wasDisconnected) this._emit('disconnected', { reason: 'disconnect called', error: undefined });
    if (conn) {
      try { await conn.stop(); } catch { /* stopping anyway */ }
    }
  }

  /** Resolves once connected; rejects when disconnected or after `timeout` ms. */
  ready(timeout) {
    if (this._state === ClientState.Connected) return Promise.resolve();
    if (this._state === ClientState.Disconnected) return Promise.reject(new Error('client is disconnected; call connect() first'));
    return new Promise((resolve, reject) => {
      let timer = null;
      const onState = ({ newState }) => {
        if (newState === ClientState.Connected) {
          done();
          resolve();
        } else if (newState === ClientState.Disconnected) {
          done();
          reject(new Error('client disconnected'));
        }
      };
      const done = () => {
        this.off('state', onState);
        if (timer !== null) clearTimeout(timer);
      };
      this.on('state', onState);
      if (timeout !== undefined && timeout !== null) {
        timer = setTimeout(() => {
          done();
          reject(new Error(`not connected within ${timeout} ms`));
        }, timeout);
      }
    });
  }

  _setState(newState) {
    const oldState = this._state;
    if (oldState === newState) return;
    this._state = newState;
    this._emit('state', { oldState, newState });
  }

  _createConnection() {
    const o = this.options;
    const httpOptions = { skipNegotiation: o.skipNegotiation };
    const tokenFactory = o.accessTokenFactory ?? (o.accessToken !== undefined ? () => o.accessToken : undefined);
    // SignalR calls it for every negotiate and every transport it opens, so a reconnect presents a fresh token.
    if (tokenFactory) httpOptions.accessTokenFactory = tokenFactory;
    if (o.transport !== undefined) httpOptions.transport = o.transport;
    const BaseWebSocket = o.WebSocket ?? globalThis.WebSocket;
    if (typeof BaseWebSocket === 'function') {
      httpOptions.WebSocket = o.resumeWindow > 0
        ? createResumingWebSocket(BaseWebSocket, { windowMs: o.resumeWindow, probe: this._probe() })
        : BaseWebSocket;
    }
    let builder = new HubConnectionBuilder().withUrl(o.url, httpOptions);
    // MessagePack: binary frames with the same field names as JSON (the server keys its maps in camelCase).
    if (o.protocol === HubProtocol.MessagePack) builder = builder.withHubProtocol(new MessagePackHubProtocol());
    const conn = builder
      .withAutomaticReconnect({
        nextRetryDelayInMilliseconds: (ctx) => (this._stopRequested ? null : backoff(ctx.previousRetryCount, o.minReconnectDelay, o.maxReconnectDelay)),
      })
      .withStatefulReconnect({ bufferSize: o.statefulReconnectBufferSize })
      .configureLogging(o.logger ?? o.logLevel)
      .build();

    conn.on('created', (msg) => this._onCreated(msg));
    conn.on('joined', (msg) => this._onJoined(msg));
    conn.on('exit', (msg) => this._onExit(msg));
    conn.on('removed', (msg) => this._onRemoved(msg));
    conn.on('offer', (msg) => this._onDescription('offer', msg));
    conn.on('answer', (msg) => this._onDescription('answer', msg));
    conn.on('candidate', (msg) => this._onCandidate(msg));
    conn.onreconnecting((error) => {
      if (conn !== this._conn) return;
      this._setState(ClientState.Reconnecting);
      this._emit('disconnected', { reason: 'connection lost', error });
    });
    conn.onreconnected(async (newId) => {
      if (conn !== this._conn) return;
      // A new connection: fetch new TURN credentials before the rejoins create peers.
      await this._fetchServerIceServers(conn);
      if (conn !== this._conn) return;
      this._onNewConnection(newId ?? conn.connectionId, true);
    });
    conn.onclose((error) => {
      if (conn !== this._conn) return;
      this._conn = null;
      this._stopIceRefresh();
      this._closeAllPeers(PeerLeftReason.Disconnect);
      if (this._stopRequested) {
        this._setState(ClientState.Disconnected);
        return;
      }
      this._emit('disconnected', { reason: 'connection closed', error });
      this._setState(ClientState.Connecting);
      this._connectLoop();
    });
    return conn;
  }

  /** A probe that tells whether the server answers HTTP at all (see resuming-websocket.js). */
  _probe() {
    const healthUrl = this.options.healthUrl === null ? null : (this.options.healthUrl ?? new URL('/healthz', this.options.url).href);
    if (!healthUrl || typeof globalThis.fetch !== 'function') return undefined;
    return async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 1000);
      try {
        await fetch(healthUrl, { cache: 'no-store', signal: controller.signal });
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    };
  }

  async _resolveIceServers() {
    const { iceServers } = this.options;
    const servers = typeof iceServers === 'function' ? await iceServers() : iceServers;
    this._userIceServers = [...(servers ?? [])];
    this._applyIceServers();
  }

  _applyIceServers() {
    const iceServers = [...this._userIceServers, ...this._serverIceServers];
    this._rtcConfiguration = { ...(this.options.rtcConfiguration ?? {}), iceServers };
    // Live peers get the new credentials too, for their next ICE restart.
    for (const room of this._rooms.values()) {
      for (const peer of room.peers.values()) {
        try { peer.pc?.setConfiguration?.({ ...peer.pc.getConfiguration(), iceServers }); } catch { /* a closed or exotic peer connection */ }
      }
    }
  }

  /**
   * Asks the server for its ICE servers (GetIceServers: STUN, and TURN with credentials minted for this
   * connection) and schedules the next fetch before the credentials expire. A server without the method, or a
   * failed call, leaves the last list in place and is reported as an `error` event.
   */
  async _fetchServerIceServers(conn) {
    this._stopIceRefresh();
    if (!this.options.serverIceServers) return;
    let ttl = 0;
    try {
      const list = await conn.invoke('GetIceServers');
      this._serverIceServers = Array.isArray(list?.iceServers) ? list.iceServers : [];
      ttl = Number(list?.ttl) || 0;
      this._applyIceServers();
      this._emit('iceServers', { iceServers: this.iceServers, ttl });
    } catch (error) {
      this._emit('error', { operation: 'getIceServers', error });
    }
    if (ttl > 0 && conn === (this._conn ?? conn) && !this._stopRequested) {
      // Refresh at 80 % of the lifetime (at least 5 s from now), so peers never start ICE with expired credentials.
      this._iceRefreshTimer = setTimeout(() => {
        this._iceRefreshTimer = null;
        if (this._conn === conn && this._state === ClientState.Connected) this._fetchServerIceServers(conn);
      }, Math.max(5_000, ttl * 800));
    }
  }

  _stopIceRefresh() {
    if (this._iceRefreshTimer !== null) {
      clearTimeout(this._iceRefreshTimer);
      this._iceRefreshTimer = null;
    }
  }

  async _connectLoop() {
    let attempt = 0;
    while (!this._stopRequested) {
      const conn = this._createConnection();
      try {
        await this._resolveIceServers();
        await conn.start();
      } catch (error) {
        if (this._stopRequested) return;
        this._emit('error', { operation: 'connect', error });
        await this._sleep(backoff(attempt++, this.options.minReconnectDelay, this.options.maxReconnectDelay));
        continue;
      }
      if (this._stopRequested) {
        try { await conn.stop(); } catch { /* stopping anyway */ }
        return;
      }
      this._conn = conn;
      await this._fetchServerIceServers(conn);
      if (this._conn !== conn) return;
      this._onNewConnection(conn.connectionId, false);
      return;
    }
  }

  _sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this._wake = finish;
    });
  }

  _onNewConnection(id, reconnected) {
    // A new connection id means the server has already told every room we left; start afresh.
    this._closeAllPeers(PeerLeftReason.Reconnect);
    this._id = id;
    this._setState(ClientState.Connected);
    this._emit('connected', { id, reconnected });
    for (const room of this._rooms.values()) {
      room.joined = false;
      room.seq = null; // a new membership: its created sets the room's seq afresh
      this._joinOnServer(room.name).catch(() => { /* reported through the events */ });
    }
  }

  // ---- rooms ---------------------------------------------------------------------------

  /**
   * Joins a room (connecting first if needed) and resolves with our id and the members already there.
   * Joining a room we are in resolves with the current members.
   */
  async join(room) {
    validateRoom(room);
    if (!this._rooms.has(room)) {
      this._rooms.set(room, { name: room, joined: false, seq: null, peers: new Map() });
    }
    if (this._state === ClientState.Disconnected) this.connect();
    try {
      if (this._state !== ClientState.Connected) await this.ready();
    } catch (error) {
      this._rooms.delete(room);
      throw error;
    }
    return this._joinOnServer(room);
  }

  _joinOnServer(room) {
    const existing = this._joining.get(room);
    if (existing) return existing;
    const conn = this._conn;
    const attempt = (async () => {
      try {
        const result = await conn.invoke('CreateAndJoinRoom', { room });
        const seq = isSeq(result.seq) ? result.seq : null;
        const joined = { id: result.id, room: result.room, peers: result.peers.map((p) => p.id), seq };
        const record = this._rooms.get(room);
        // Left (or reconnected) while the join was on its way.
        if (!record || conn !== this._conn) return joined;
        // Joining a room we are already in only reports its members.
        const alreadyIn = record.joined;
        record.joined = true;
        if (!alreadyIn) this._emit('joined', { room, id: joined.id, peers: joined.peers });
        // The `created` that came before this result already set the members, and events after it may have
        // changed them since: the result's list is then out of date. Only a server without seq needs it.
        if (seq === null || record.seq === null || record.seq < seq) {
          for (const p of result.peers) this._ensurePeer(record, p.id, p);
        }
        return joined;
      } catch (error) {
        if (conn === this._conn && this._rooms.has(room) && !this._rooms.get(room).joined) {
          this._rooms.delete(room);
          this._emit('left', { room, reason: 'join failed', error });
        }
        this._emit('error', { operation: 'join', room, error });
        throw error;
      } finally {
        this._joining.delete(room);
      }
    })();
    this._joining.set(room, attempt);
    return attempt;
  }

  /** Leaves a room: closes its peer connections and tells the server. */
  async leave(room) {
    const record = this._rooms.get(room);
    if (!record) return;
    this._rooms.delete(room);
    for (const peer of [...record.peers.values()]) this._removePeer(record, peer, PeerLeftReason.Left);
    this._emit('left', { room, reason: 'leave called', error: undefined });
    const conn = this._conn;
    if (conn && conn.state === HubConnectionState.Connected) {
      await conn.invoke('Exit', { room });
    }
  }

  // ---- peers ---------------------------------------------------------------------------

  /** The peers of one room, or of every room. */
  peers(room) {
    if (room !== undefined) return [...(this._rooms.get(room)?.peers.values() ?? [])];
    return [...this._rooms.values()].flatMap((r) => [...r.peers.values()]);
  }

  /**
   * The room's change number as far as this client has applied it (the `seq` of the last `created`, `joined` or
   * `exit` of the room), or null when not in the room or the server does not send seq.
   */
  roomSeq(room) {
    return this._rooms.get(room)?.seq ?? null;
  }

  /** One peer by room and id. */
  getPeer(room, peerId) {
    return this._rooms.get(room)?.peers.get(peerId);
  }

  /** The peer for `peerId` in the room, created when new; `identity` is the message that names it ({ userId, name }, auth on). */
  _ensurePeer(record, peerId, identity) {
    const existing = record.peers.get(peerId);
    if (existing) {
      existing._learnIdentity(identity);
      return existing;
    }
    if (peerId === this._id) return undefined;
    const room = record.name;
    let peer;
    try {
      peer = new Peer({
        id: peerId,
        room,
        userId: identity?.userId,
        name: identity?.name,
        selfId: this._id,
        rtcConfiguration: this._rtcConfiguration,
        signal: (method, payload) => this._relay(method, { to: peerId, room, ...payload }),
        iceRestartDelay: this.options.iceRestartDelay,
        controlChannel: this.options.controlChannel,
        initialOfferWait: this.options.initialOfferWait,
        connectTimeout: this.options.connectTimeout,
        RTCPeerConnection: this.options.RTCPeerConnection,
      });
    } catch (error) {
      this._emit('error', { operation: 'peer', room, peerId, error });
      return undefined;
    }
    record.peers.set(peerId, peer);
    const ctx = { room, peerId, peer };
    peer.on('state', (e) => this._emit('peerState', { ...ctx, ...e }));
    peer.on('track', (e) => this._emit('track', { ...ctx, ...e }));
    peer.on('dataChannel', (e) => this._emit('dataChannel', { ...ctx, ...e }));
    peer.on('message', (e) => this._emit('message', { ...ctx, ...e }));
    peer.on('error', (e) => {
      if (this._state === ClientState.Connected) this._emit('error', { ...ctx, ...e });
    });
    this._emit('peerJoined', ctx);
    for (const { track, streams } of this._local) peer.addTrack(track, streams);
    for (const group of this._sharedChannels.values()) group._attach(peer);
    return peer;
  }

  _removePeer(record, peer, reason) {
    if (record.peers.get(peer.id) !== peer) return;
    record.peers.delete(peer.id);
    for (const group of this._sharedChannels.values()) group._detach(peer);
    peer.close();
    this._emit('peerLeft', { room: record.name, peerId: peer.id, peer, reason });
    peer.off();
  }

  _closeAllPeers(reason) {
    for (const record of this._rooms.values()) {
      for (const peer of [...record.peers.values()]) this._removePeer(record, peer, reason);
    }
  }

  async _relay(method, payload) {
    const conn = this._conn;
    if (!conn || conn.state !== HubConnectionState.Connected) {
      throw new Error(`cannot send ${method}: not connected`);
    }
    await conn.invoke(method, payload);
  }

  // ---- hub events ----------------------------------------------------------------------

  // Membership events carry the room's change number (seq); one older than what the room has applied is stale, and
  // one at the room's seq that changes nothing is a repeat: both are ignored. Events without seq (older servers, or 0: not numbered) are applied as they come.

  _onCreated(msg) {
    const record = this._rooms.get(msg?.room);
    if (!record || !Array.isArray(msg.peers)) return;
    if (isSeq(msg.seq)) {
      // Joining again while in the room: the same state again, nothing to do.
      if (record.joined && record.seq !== null && msg.seq <= record.seq) return;
      record.seq = msg.seq;
      record.createdSeq = msg.seq; // the whole room at this seq: nothing more at it is news
    } else {
      return; // an older server: the join result sets the members
    }
    // Our own join's place in the room's order: exactly these members, whatever arrived before it.
    const members = new Map(msg.peers.filter((p) => typeof p?.id === 'string').map((p) => [p.id, p]));
    for (const peer of [...record.peers.values()]) {
      if (!members.has(peer.id)) this._removePeer(record, peer, PeerLeftReason.Exit);
    }
    for (const [peerId, p] of members) this._ensurePeer(record, peerId, p);
  }

  _onJoined(msg) {
    const record = this._rooms.get(msg?.room);
    if (!record || typeof msg.id !== 'string' || !this._isNewChange(record, msg, !record.peers.has(msg.id))) return;
    this._ensurePeer(record, msg.id, msg);
  }

  _onExit(msg) {
    const record = this._rooms.get(msg?.room);
    if (!record || !this._isNewChange(record, msg, record.peers.has(msg?.from))) return;
    const peer = record.peers.get(msg?.from);
    if (peer) this._removePeer(record, peer, PeerLeftReason.Exit);
  }

  _onRemoved(msg) {
    // An administrator took us out of the room: we are no longer a member (and must not rejoin it on reconnect),
    // but the connection stays open and join() may enter the room again.
    const room = msg?.room;
    const record = this._rooms.get(room);
    if (!record) return;
    const reason = typeof msg.reason === 'string' ? msg.reason : 'removed by an administrator';
    this._rooms.delete(room);
    for (const peer of [...record.peers.values()]) this._removePeer(record, peer, PeerLeftReason.Removed);
    this._emit('removed', { room, reason });
    this._emit('left', { room, reason: 'removed', error: undefined });
  }

  // Below the room's seq: stale. At it: applied only when it changes the members (a server recovering from a lost
  // change sends the difference under the room's current seq); a repeat changes nothing. Above it: new.
  _isNewChange(record, msg, changesMembers) {
    if (!isSeq(msg.seq)) return true;
    if (record.seq !== null && (msg.seq < record.seq || (msg.seq === record.seq && (!changesMembers || record.createdSeq === msg.seq)))) return false;
    record.seq = msg.seq;
    return true;
  }

  _onDescription(type, msg) {
    const record = this._rooms.get(msg?.room);
    if (!record || typeof msg.from !== 'string' || typeof msg.sdp !== 'string') return;
    // A relay can overtake the `joined` that announces its sender; meet the peer here then.
    const peer = this._ensurePeer(record, msg.from, msg);
    peer?.handleDescription(type, msg.sdp);
  }

  _onCandidate(msg) {
    const record = this._rooms.get(msg?.room);
    if (!record || typeof msg.from !== 'string') return;
    const peer = this._ensurePeer(record, msg.from, msg);
    peer?.handleCandidate(msg.candidate);
  }

  // ---- local media ---------------------------------------------------------------------

  /** Sends a local track to every peer, now and later. */
  addTrack(track, ...streams) {
    if (this._local.some((e) => e.track === track)) return;
    this._local.push({ track, streams });
    for (const peer of this.peers()) peer.addTrack(track, streams);
  }

  /** Sends every track of a stream to every peer, now and later. */
  addStream(stream) {
    for (const track of stream.getTracks()) this.addTrack(track, stream);
  }

  /** Swaps a sent track for another of the same kind on every peer, without renegotiation (e.g. a camera switch). */
  async replaceTrack(oldTrack, newTrack) {
    if (!newTrack) throw new TypeError('newTrack: required (use removeTrack to stop sending)');
    const entry = this._local.find((e) => e.track === oldTrack);
    if (!entry) throw new Error('oldTrack: not a track this client sends');
    entry.track = newTrack;
    await Promise.all(this.peers().map((peer) => peer.replaceTrack(oldTrack, newTrack)));
  }

  /** Stops sending a local track to every peer. */
  removeTrack(track) {
    const index = this._local.findIndex((e) => e.track === track);
    if (index < 0) return;
    this._local.splice(index, 1);
    for (const peer of this.peers()) peer.removeTrack(track);
  }

  // ---- data channels -------------------------------------------------------------------

  /**
   * Opens a data channel. With `peerId`, to that one peer (returns the RTCDataChannel; the far
   * side receives it through `dataChannel`). Without, to every peer of `room` (or of every room),
   * present and future (returns a DataChannelGroup; both ends open it with the same label).
   */
  openDataChannel(label, options = {}) {
    if (typeof label !== 'string') throw new TypeError('label: must be a string');
    const { peerId, room, ...init } = options ?? {};
    if (peerId !== undefined) {
      const matches = this.peers(room).filter((p) => p.id === peerId);
      if (matches.length === 0) throw new Error(`peerId: no peer ${peerId}${room ? ` in room ${room}` : ''}`);
      if (matches.length > 1) throw new Error(`room: peer ${peerId} is in several rooms; say which`);
      return matches[0].createDataChannel(label, init);
    }
    const key = groupKey(room, label);
    const existing = this._sharedChannels.get(key);
    if (existing) return existing;
    const group = new DataChannelGroup(this, label, room ?? null, { ...init, negotiated: true, id: init.id ?? sharedChannelId(label) });
    this._sharedChannels.set(key, group);
    for (const peer of this.peers(room)) group._attach(peer);
    return group;
  }
}

/** Whether a membership event carries a room change number (0 or none: the server does not number changes). */
function isSeq(value) {
  return Number.isInteger(value) && value > 0;
}
