// SignalR's stateful reconnect makes exactly one attempt to reopen the WebSocket of a connection
// whose transport dropped. When the network is down for a moment that single attempt fails at
// once, the connection is given up and a new one (with a new id) is made, which tears down every
// call. This WebSocket stand-in gives that attempt a window: while the socket for an already
// established connection (recognised by the `id=` token in its URL) cannot be opened, it keeps
// retrying with a short back-off until the window closes, and only then reports the failure.
// First connections are never retried here, so an unreachable server is reported promptly.
// After each failed attempt an optional probe asks whether the server itself is reachable: when it
// is and an immediate second attempt fails as well, the server no longer knows the connection (it
// restarted, or we reached another node), so waiting longer is pointless and the failure is
// reported at once.

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function connectionToken(url) {
  const query = url.indexOf('?');
  if (query < 0) return null;
  const params = new URLSearchParams(url.slice(query + 1));
  return params.get('id');
}

/**
 * Makes a WebSocket class that retries reopening a resumed SignalR connection.
 * @param {typeof WebSocket} Base the platform WebSocket class
 * @param {{ windowMs: number, minDelayMs?: number, maxDelayMs?: number, probe?: () => Promise<boolean> }} options
 *   `probe` resolves true when the server answers at all (then a failed resume is final).
 */
export function createResumingWebSocket(Base, options) {
  const windowMs = options.windowMs;
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 1000;
  const probe = options.probe;
  // Tokens of connections whose first socket opened; a later socket with the same token is a resume.
  const established = new Set();

  class ResumingWebSocket {
    static CONNECTING = CONNECTING;
    static OPEN = OPEN;
    static CLOSING = CLOSING;
    static CLOSED = CLOSED;

    constructor(url, protocols) {
      this.url = url;
      this._protocols = protocols;
      this._token = connectionToken(url);
      this._resume = this._token !== null && established.has(this._token);
      this._deadline = this._resume ? Date.now() + windowMs : 0;
      this._delay = minDelay;
      this._binaryType = 'blob';
      this._closedByUser = false;
      this._reachableFailures = 0;
      this._timer = null;
      this._socket = null;
      this.readyState = CONNECTING;
      this.onopen = null;
      this.onmessage = null;
      this.onerror = null;
      this.onclose = null;
      this._open();
    }

    get CONNECTING() { return CONNECTING; }
    get OPEN() { return OPEN; }
    get CLOSING() { return CLOSING; }
    get CLOSED() { return CLOSED; }

    get binaryType() { return this._binaryType; }
    set binaryType(value) {
      this._binaryType = value;
      if (this._socket) this._socket.binaryType = value;
    }

    get protocol() { return this._socket ? this._socket.protocol : ''; }
    get extensions() { return this._socket ? this._socket.extensions : ''; }
    get bufferedAmount() { return this._socket ? this._socket.bufferedAmount : 0; }

    _open() {
      this._timer = null;
      const socket = this._protocols === undefined ? new Base(this.url) : new Base(this.url, this._protocols);
      socket.binaryType = this._binaryType;
      this._socket = socket;
      let opened = false;
      socket.onopen = (event) => {
        opened = true;
        if (this._token) established.add(this._token);
        this.readyState = OPEN;
        this.onopen?.(event);
      };
      socket.onmessage = (event) => this.onmessage?.(event);
      socket.onerror = (event) => {
        // A failed resume attempt that will be retried is not an error yet.
        if (!opened && this._willRetry()) return;
        this.onerror?.(event);
      };
      socket.onclose = (event) => {
        if (!opened && this._willRetry()) {
          this._retryOrGiveUp(event);
          return;
        }
        this._finish(event);
      };
    }

    _finish(event) {
      if (this.readyState === CLOSED) return;
      this.readyState = CLOSED;
      this.onclose?.(event);
    }

    _retryOrGiveUp(event) {
      if (!probe) {
        this._later(event);
        return;
      }
      // Ask whether the server answers at all. If it does and a resume attempt made while it does
      // fails too, the server no longer knows this connection: stop waiting.
      this._timer = -1; // probing: an attempt is still pending, though not on a timer
      probe().then((reachable) => reachable, () => false).then((reachable) => {
        if (this.readyState === CLOSED || this._timer !== -1) return;
        this._timer = null;
        if (!reachable) {
          this._reachableFailures = 0;
          this._later(event);
        } else if (++this._reachableFailures >= 2 || !this._willRetry()) {
          this._finish(event);
        } else {
          this._open();
        }
      });
    }

    _later(event) {
      const delay = this._delay;
      this._delay = Math.min(maxDelay, this._delay * 2);
      this._timer = setTimeout(() => {
        this._timer = null;
        if (this._willRetry()) this._open();
        else this._finish(event);
      }, delay);
    }

    _willRetry() {
      return this._resume && !this._closedByUser && Date.now() < this._deadline;
    }

    send(data) {
      if (this.readyState !== OPEN || !this._socket) {
        throw new Error('WebSocket is not open');
      }
      this._socket.send(data);
    }

    close(code, reason) {
      this._closedByUser = true;
      if (this.readyState === CLOSED) return;
      if (this._timer !== null) {
        // Between two attempts: there is no socket to close, report the close ourselves.
        if (this._timer !== -1) clearTimeout(this._timer);
        this._timer = null;
        const event = { type: 'close', code: 1000, reason: reason ?? '', wasClean: true };
        queueMicrotask(() => this._finish(event));
        return;
      }
      this.readyState = CLOSING;
      this._socket.close(code, reason);
    }
  }

  return ResumingWebSocket;
}
