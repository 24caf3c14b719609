// Types of the RoomSignal browser SDK.
import type { HttpTransportType, ILogger, LogLevel, HubConnection } from '@microsoft/signalr';

export { LogLevel, HttpTransportType } from '@microsoft/signalr';

/** The hub path on a RoomSignal server: `/hubs/room`. */
export declare const HUB_PATH: '/hubs/room';

/** States of a {@link RoomSignalClient}. */
export declare const ClientState: {
  /** Not connected and not trying to (initially, and after `disconnect()`). */
  readonly Disconnected: 'disconnected';
  /** Opening a connection (and retrying with back-off until one opens). */
  readonly Connecting: 'connecting';
  /** Connected to the hub; `id` is our connection id. */
  readonly Connected: 'connected';
  /** The connection was lost and SignalR is reconnecting; peers are torn down when a new connection id results. */
  readonly Reconnecting: 'reconnecting';
};
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

/** The hub protocols a RoomSignal server speaks (the `protocol` option). */
export declare const HubProtocol: {
  /** JSON text frames (SignalR's default). */
  readonly Json: 'json';
  /** MessagePack binary frames, with the same field names as JSON. */
  readonly MessagePack: 'messagepack';
};
export type HubProtocolName = (typeof HubProtocol)[keyof typeof HubProtocol];

/** Why a peer went away. */
export declare const PeerLeftReason: {
  /** The remote member left the room or disconnected (the server sent `exit`). */
  readonly Exit: 'exit';
  /** We left the room. */
  readonly Left: 'left';
  /** Our connection was replaced by a new one (new id); the room is being rejoined. */
  readonly Reconnect: 'reconnect';
  /** We disconnected, or the connection closed. */
  readonly Disconnect: 'disconnect';
  /** An administrator removed us from the room (the server sent `removed`). */
  readonly Removed: 'removed';
};
export type PeerLeftReason = (typeof PeerLeftReason)[keyof typeof PeerLeftReason];

/**
 * ICE servers, or a function that fetches them: called before each connection attempt that
 * `connect()` starts (and after a closed connection), not when SignalR reconnects by itself.
 */
export type IceServersSource = RTCIceServer[] | (() => RTCIceServer[] | Promise<RTCIceServer[]>);

/** Options of {@link RoomSignalClient}; every one has a default (see {@link defaultOptions}). */
export interface RoomSignalOptions {
  /** Hub URL. Default: `/hubs/room` on the page's origin (required outside a browser page). */
  url?: string;
  /** ICE servers for every peer connection. Default: none (enough on one machine or a LAN). */
  iceServers?: IceServersSource;
  /**
   * Ask the server for its ICE servers (`GetIceServers()`: STUN, and TURN with short-lived credentials) after
   * every connection, SignalR's own reconnects included, and again before the credentials expire; they are used
   * after `iceServers`. Default true.
   */
  serverIceServers?: boolean;
  /** An access token (JWT) for a server with auth on; prefer `accessTokenFactory`, since tokens expire. Default: none. */
  accessToken?: string;
  /**
   * Returns a fresh access token (or a promise of one); called for every connect and reconnect, SignalR's own
   * included, so a reconnect never presents an expired token. Takes precedence over `accessToken`. Default: none.
   */
  accessTokenFactory?: () => string | Promise<string>;
  /** Other RTCPeerConnection settings; `iceServers` above takes precedence. Default: none. */
  rtcConfiguration?: RTCConfiguration;
  /** Smallest delay before a reconnect attempt, in ms. Default 500. */
  minReconnectDelay?: number;
  /** Largest delay between reconnect attempts, in ms (exponential back-off with jitter in between). Default 10000. */
  maxReconnectDelay?: number;
  /**
   * How long, in ms, to keep trying to resume a dropped WebSocket as the same SignalR connection
   * (stateful reconnect: same id, same rooms, no lost messages) before giving up and reconnecting
   * afresh. 0 leaves SignalR's single immediate attempt. Default 10000.
   */
  resumeWindow?: number;
  /**
   * URL probed while a resume fails: when the server answers it but refuses the resume, the
   * connection is gone on the server and waiting is pointless. Default `/healthz` on the hub's
   * origin; null disables the probe.
   */
  healthUrl?: string | null;
  /** Bytes of unacknowledged messages kept for stateful reconnect. Default 100000. */
  statefulReconnectBufferSize?: number;
  /** How long, in ms, a peer connection may stay `disconnected` before an ICE restart. Default 3000. */
  iceRestartDelay?: number;
  /**
   * How long, in ms, the polite side of a new peer connection waits for the other side's first
   * offer before offering itself; keeps the two from offering at once while a call is set up.
   * 0 disables the wait. Default 2000.
   */
  initialOfferWait?: number;
  /**
   * How long, in ms, a negotiated peer connection may take to come up before an ICE restart.
   * 0 disables the watchdog. Default 10000.
   */
  connectTimeout?: number;
  /**
   * Open a small internal data channel on every peer connection so peers connect even when neither
   * side sends media or opens a channel. Default true.
   */
  controlChannel?: boolean;
  /** Connect straight over WebSockets without the negotiate request (disables stateful reconnect). Default false. */
  skipNegotiation?: boolean;
  /** Restrict SignalR transports. Default: all (WebSockets first). */
  transport?: HttpTransportType;
  /**
   * Hub protocol: `'json'` (text frames) or `'messagepack'` (binary frames, smaller; via
   * `@microsoft/signalr-protocol-msgpack`). Messages carry the same field names either way.
   * Server-Sent Events carry text only, so with `'messagepack'` SignalR uses WebSockets or long polling.
   * Default `'json'`.
   */
  protocol?: HubProtocolName;
  /** SignalR log level. Default `LogLevel.Warning`. */
  logLevel?: LogLevel;
  /** A SignalR logger; takes precedence over `logLevel`. */
  logger?: ILogger;
  /** WebSocket class to use (default: the platform's). */
  WebSocket?: any;
  /** RTCPeerConnection class to use (default: the platform's). */
  RTCPeerConnection?: typeof RTCPeerConnection;
}

/** The defaults that options are merged over. */
export declare const defaultOptions: Readonly<Required<Omit<RoomSignalOptions, 'url' | 'rtcConfiguration' | 'transport' | 'logger' | 'WebSocket' | 'RTCPeerConnection' | 'healthUrl' | 'accessToken' | 'accessTokenFactory'>>> &
  Readonly<Pick<RoomSignalOptions, 'url' | 'rtcConfiguration' | 'transport' | 'logger' | 'WebSocket' | 'RTCPeerConnection' | 'healthUrl' | 'accessToken' | 'accessTokenFactory'>>;

/** Throws a TypeError (`room: must be 1-64 characters of A-Z a-z 0-9 _ . : -`) unless `room` is a valid room name. */
export declare function validateRoom(room: unknown): asserts room is string;

/** The SCTP stream id (512-1021) a shared data channel uses for `label` when no `id` is given. */
export declare function sharedChannelId(label: string): number;

/** A typed event emitter. */
export declare class Emitter<Events extends Record<string, any>> {
  on<K extends keyof Events & string>(event: K, listener: (ctx: Events[K]) => void): this;
  once<K extends keyof Events & string>(event: K, listener: (ctx: Events[K]) => void): this;
  /** Removes one listener, every listener of one event, or (no arguments) every listener. */
  off<K extends keyof Events & string>(event?: K, listener?: (ctx: Events[K]) => void): this;
  listenerCount<K extends keyof Events & string>(event: K): number;
}

// ---- event contexts ------------------------------------------------------------------------

export interface StateContext { oldState: ClientState; newState: ClientState; }
export interface ConnectedContext { id: string; /** true when this connection replaced a lost one. */ reconnected: boolean; }
export interface DisconnectedContext { reason: string; error?: Error; }
export interface JoinedContext {
  room: string; id: string; peers: string[];
  /** The room's change number of our join (null from a server that does not send it). */
  seq: number | null;
}
export interface LeftContext {
  room: string;
  /** `leave called`, `join failed`, or `removed` (an administrator removed us; see the `removed` event). */
  reason: string;
  error?: Error;
}
/** The server's `removed` message: an administrator took us out of `room`; the connection stays open. */
export interface RemovedContext {
  room: string;
  /** Why, as the administrator put it (default `removed by an administrator`). */
  reason: string;
}
export interface PeerContext { room: string; peerId: string; peer: Peer; }
export interface PeerLeftContext extends PeerContext { reason: PeerLeftReason; }
export interface PeerStateContext extends PeerContext { oldState: PeerConnectionState; newState: PeerConnectionState; }
export interface TrackContext extends PeerContext {
  track: MediaStreamTrack; streams: MediaStream[]; transceiver: RTCRtpTransceiver; receiver: RTCRtpReceiver;
}
export interface DataChannelContext extends PeerContext {
  channel: RTCDataChannel;
  /** `local` when we opened it, `remote` when the far side did. */
  origin: 'local' | 'remote';
}
export interface MessageContext extends PeerContext { channel: RTCDataChannel; label: string; data: any; }
export interface IceServersContext {
  /** Every ICE server new peer connections use now (the `iceServers` option's, then the server's). */
  iceServers: RTCIceServer[];
  /** Seconds the server's TURN credentials stay valid. */
  ttl: number;
}
export interface ErrorContext {
  /** What failed: `connect`, `join`, `peer`, `offer`, `answer`, `candidate`, `getIceServers`. */
  operation: string;
  error: unknown;
  room?: string;
  peerId?: string;
  peer?: Peer;
}

/** Events of {@link RoomSignalClient}. */
export interface ClientEvents {
  /** The client's state changed. */
  state: StateContext;
  /** A hub connection opened (first or replacing a lost one). */
  connected: ConnectedContext;
  /** The hub connection was lost or closed. */
  disconnected: DisconnectedContext;
  /** We joined a room (also after rejoining with a new connection). */
  joined: JoinedContext;
  /** We are no longer in a room (left, removed, or a join/rejoin failed). */
  left: LeftContext;
  /**
   * An administrator removed us from a room: the room is dropped from `rooms` (not rejoined on reconnect) and its
   * peers closed (`peerLeft` with reason `removed`), then `removed` and `left` are emitted. `join()` may enter it again.
   */
  removed: RemovedContext;
  /** A remote member appeared in one of our rooms; its peer connection exists from now on. */
  peerJoined: PeerContext;
  /** A remote member is gone; its peer connection is closed. */
  peerLeft: PeerLeftContext;
  /** A peer connection's `connectionState` changed. */
  peerState: PeerStateContext;
  /** A remote track arrived. */
  track: TrackContext;
  /** A data channel to a peer exists (opened by us or by the far side). */
  dataChannel: DataChannelContext;
  /** A message arrived on any data channel. */
  message: MessageContext;
  /** The server's ICE servers arrived (after a connection, or a refresh before the credentials expired). */
  iceServers: IceServersContext;
  /** Something failed that no promise reports. */
  error: ErrorContext;
}

export type PeerConnectionState = RTCPeerConnectionState;

/** Events of one {@link Peer}. */
export interface PeerEvents {
  state: { oldState: PeerConnectionState; newState: PeerConnectionState };
  track: { track: MediaStreamTrack; streams: MediaStream[]; transceiver: RTCRtpTransceiver; receiver: RTCRtpReceiver };
  dataChannel: { channel: RTCDataChannel; origin: 'local' | 'remote' };
  message: { channel: RTCDataChannel; label: string; data: any };
  error: { operation: string; error: unknown };
}

/** A remote member of a room and our RTCPeerConnection to it. */
export declare class Peer extends Emitter<PeerEvents> {
  /** Peers are created by the client, one per remote member. */
  private constructor();
  /** The remote connection id. */
  readonly id: string;
  /** The room shared with it. */
  readonly room: string;
  /** The member's user id (its token's `sub`) from the server's messages; null when the server has auth off. */
  readonly userId: string | null;
  /** The member's display name (its token's `name`); null when it has none. */
  readonly name: string | null;
  /** Whether we yield when offers collide (we have the lower connection id). */
  readonly polite: boolean;
  /** The peer connection. */
  readonly pc: RTCPeerConnection;
  /** The internal control channel (null when `controlChannel` is off). */
  readonly controlChannel: RTCDataChannel | null;
  /** How many ICE restarts this peer started. */
  readonly iceRestarts: number;
  /** How many times a remote offer collided with our own. */
  readonly collisions: number;
  /** `connectionState` of the peer connection, `closed` once closed. */
  readonly connectionState: PeerConnectionState;
  readonly closed: boolean;
  /** Starts an ICE restart; negotiation follows by itself. */
  restartIce(): void;
  /** Opens a data channel to this peer only; the far side gets a `dataChannel` event. */
  createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel;
  /** The data channels of this peer that have not closed (the control channel excluded), optionally by label. */
  dataChannels(label?: string): RTCDataChannel[];
  getStats(selector?: MediaStreamTrack | null): Promise<RTCStatsReport>;
  /** Closes the connection and its channels. */
  close(): void;
}

/** A data channel with one label to every peer (of one room or all rooms), present and future. */
export declare class DataChannelGroup {
  /** Groups are created by {@link RoomSignalClient.openDataChannel}. */
  private constructor();
  readonly label: string;
  /** The room it is limited to, or null for every room. */
  readonly room: string | null;
  /** The init used for each channel (`negotiated: true` with a fixed `id`). */
  readonly init: RTCDataChannelInit;
  /** Every channel of the group, one per peer, whatever its readyState. */
  channels(): RTCDataChannel[];
  /** Sends to every peer whose channel is open; returns how many that was. */
  send(data: string | Blob | ArrayBuffer | ArrayBufferView): number;
  /** Closes the channel on every peer and stops opening it for new ones. */
  close(): void;
}

/** Result of {@link RoomSignalClient.join}. */
export interface JoinResult {
  /** Our own connection id. */
  id: string;
  room: string;
  /** Ids of the members that were already in the room. */
  peers: string[];
  /** The room's change number of our join; later `joined`/`exit` of the room carry larger ones (null from an older server). */
  seq: number | null;
}

/** Options of {@link RoomSignalClient.openDataChannel}. */
export interface OpenDataChannelOptions extends RTCDataChannelInit {
  /** Open to this one peer only. */
  peerId?: string;
  /** Limit to this room (needed with `peerId` when that peer shares several rooms with us). */
  room?: string;
}

/** A RoomSignal client: one hub connection, its rooms, one peer connection per remote member. */
export declare class RoomSignalClient extends Emitter<ClientEvents> {
  constructor(options?: RoomSignalOptions);
  /** The options in effect (defaults merged). */
  readonly options: Readonly<RoomSignalOptions> & { readonly url: string };
  readonly state: ClientState;
  /** Our connection id while connected (or reconnecting), else null. */
  readonly id: string | null;
  /** The rooms we are in or joining. */
  readonly rooms: string[];
  /** The ICE servers new peer connections use now: the `iceServers` option's, then the server's. */
  readonly iceServers: RTCIceServer[];
  /** The local tracks sent to every peer. */
  readonly localTracks: MediaStreamTrack[];
  /** The SignalR connection (null while disconnected). */
  readonly connection: HubConnection | null;

  /** Starts connecting; retries with back-off until connected or `disconnect()`. */
  connect(): void;
  /** Closes every peer connection and the hub connection; rooms are rejoined on the next `connect()`. */
  disconnect(): Promise<void>;
  /** Resolves once connected; rejects when disconnected or after `timeout` ms. */
  ready(timeout?: number): Promise<void>;

  /** Joins a room (connecting first if needed); resolves with our id and who was already there. */
  join(room: string): Promise<JoinResult>;
  /** Leaves a room: closes its peer connections and tells the server. */
  leave(room: string): Promise<void>;

  /** The peers of one room, or of every room. */
  peers(room?: string): Peer[];
  getPeer(room: string, peerId: string): Peer | undefined;
  /**
   * The room's change number as this client has applied it: the `seq` of the last `created`, `joined` or `exit`
   * of the room. Stale membership events (seq below it) and repeats (at it, changing nothing) are ignored; several
   * changes at one seq are applied (a server's recovery sends the difference under the room's current seq). Null when not in the room
   * or when the server does not send seq.
   */
  roomSeq(room: string): number | null;

  /** Sends a local track to every peer, now and later. */
  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): void;
  /** Sends every track of a stream to every peer, now and later. */
  addStream(stream: MediaStream): void;
  /** Replaces a sent track with another of the same kind on every peer, without renegotiation. */
  replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void>;
  /** Stops sending a track to every peer. */
  removeTrack(track: MediaStreamTrack): void;

  /** Opens a data channel to one peer (`peerId` given). */
  openDataChannel(label: string, options: OpenDataChannelOptions & { peerId: string }): RTCDataChannel;
  /** Opens a data channel to every peer of `room` (or every room), present and future; both ends open it alike. */
  openDataChannel(label: string, options?: Omit<OpenDataChannelOptions, 'peerId'>): DataChannelGroup;
}
