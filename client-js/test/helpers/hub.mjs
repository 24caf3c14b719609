// Protocol-level clients: the official @microsoft/signalr client in node, with every server event
// recorded so tests can wait for one, or prove one never came.
import { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { waitFor, withTimeout } from './wait.mjs';

/** The hub protocol the protocol suite runs over: ROOMSIGNAL_TEST_PROTOCOL=json|messagepack (default json). */
export const TEST_PROTOCOL = process.env.ROOMSIGNAL_TEST_PROTOCOL ?? 'json';
if (!['json', 'messagepack'].includes(TEST_PROTOCOL)) {
  throw new Error(`ROOMSIGNAL_TEST_PROTOCOL must be json or messagepack, not ${TEST_PROTOCOL}`);
}

export const EVENT_NAMES = ['created', 'joined', 'offer', 'answer', 'candidate', 'exit'];

/**
 * Connects one client and records the six server events.
 * @param {string} hubUrl
 * @param {{ skipNegotiation?: boolean, stateful?: boolean, reconnect?: boolean, protocol?: 'json' | 'messagepack' }} [options]
 */
export async function connectClient(hubUrl, options = {}) {
  const httpOptions = options.skipNegotiation
    ? { skipNegotiation: true, transport: HttpTransportType.WebSockets }
    : { transport: HttpTransportType.WebSockets };
  let builder = new HubConnectionBuilder().withUrl(hubUrl, httpOptions).configureLogging(LogLevel.None);
  if ((options.protocol ?? TEST_PROTOCOL) === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (options.stateful) builder = builder.withStatefulReconnect();
  if (options.reconnect) builder = builder.withAutomaticReconnect([0, 500, 1000]);
  const connection = builder.build();
  const client = new RecordingClient(connection);
  await withTimeout(connection.start(), 10_000, `could not connect to ${hubUrl}`);
  return client;
}

export class RecordingClient {
  constructor(connection) {
    this.connection = connection;
    /** @type {{ name: string, payload: any, at: number }[]} */
    this.events = [];
    this.closed = null;
    this.reconnecting = 0;
    for (const name of EVENT_NAMES) {
      connection.on(name, (payload) => this.events.push({ name, payload, at: Date.now() }));
    }
    connection.onclose((error) => { this.closed = { error }; });
    connection.onreconnecting(() => { this.reconnecting++; });
  }

  get id() {
    return this.connection.connectionId;
  }

  get connected() {
    return this.connection.state === HubConnectionState.Connected;
  }

  invoke(method, arg) {
    return withTimeout(this.connection.invoke(method, arg), 10_000, `${method} did not complete within 10 s`);
  }

  join(room) {
    return this.invoke('CreateAndJoinRoom', { room });
  }

  exit(room) {
    return this.invoke('Exit', { room });
  }

  /** Recorded events of one name matching `predicate`. */
  received(name, predicate = () => true) {
    return this.events.filter((e) => e.name === name && predicate(e.payload)).map((e) => e.payload);
  }

  /** Waits for an event of `name` matching `predicate`; resolves with its payload. */
  async next(name, predicate = () => true, timeout = 5_000) {
    const found = await waitFor(() => this.events.find((e) => e.name === name && predicate(e.payload)), {
      timeout,
      interval: 10,
      message: `no '${name}' event matching ${predicate} within ${timeout} ms; got ${JSON.stringify(this.events.map((e) => e.name))}`,
    });
    return found.payload;
  }

  async stop() {
    try {
      await withTimeout(this.connection.stop(), 5_000, 'stop timed out');
    } catch { /* best effort */ }
  }
}

let counter = 0;
/** A room name no other test uses. */
export function uniqueRoom(prefix = 'room') {
  counter++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Asserts that `promise` rejects with a HubException whose message starts with `field` (e.g. `room:`). */
export async function expectHubError(promise, fieldPattern) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (!error) throw new Error(`expected the invocation to fail with ${fieldPattern}, but it succeeded`);
  const message = String(error.message ?? error);
  const match = /HubException: (.*)$/s.exec(message);
  if (!match) throw new Error(`expected a HubException naming the field (${fieldPattern}); got: ${message}`);
  const text = match[1];
  const ok = typeof fieldPattern === 'string' ? text.startsWith(fieldPattern) : fieldPattern.test(text);
  if (!ok) throw new Error(`expected the HubException message to start with ${fieldPattern}; got: ${text}`);
  return text;
}
