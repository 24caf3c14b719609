// One RTCPeerConnection to one remote member of one room, negotiated with the "perfect
// negotiation" pattern: both sides may offer whenever they need to; when two offers cross, the
// impolite side ignores the one it receives and the polite side rolls its own back. Roles come
// from comparing connection ids, so both sides agree without talking about it.

import { Emitter } from './emitter.js';

/** Label of the internal data channel that makes every peer connection negotiate, media or not. */
export const CONTROL_CHANNEL_LABEL = 'roomsignal';
/** SCTP stream id of the control channel (negotiated out of band, so both sides use the same id). */
export const CONTROL_CHANNEL_ID = 1023;
/** Candidates kept while they cannot be applied yet; more than this is not a real ICE agent. */
const MAX_PENDING_CANDIDATES = 256;

function iceUfrag(sdp) {
  const match = /^a=ice-ufrag:(\S+)/m.exec(sdp ?? '');
  return match ? match[1] : null;
}

function firstMid(sdp) {
  const match = /^a=mid:(\S+)/m.exec(sdp ?? '');
  return match ? match[1] : null;
}

/**
 * A remote member of a room and the peer connection to it.
 * Events: `state`, `track`, `dataChannel`, `message`, `error` (see index.d.ts).
 */
export class Peer extends Emitter {
  /**
   * @param {object} init
   * @param {string} init.id remote connection id
   * @param {string} init.room room shared with the remote member
   * @param {string} [init.userId] the member's user id (its token's `sub`), when the server has auth on
   * @param {string} [init.name] the member's display name (its token's `name`), when it has one
   * @param {string} init.selfId our own connection id
   * @param {RTCConfiguration} init.rtcConfiguration
   * @param {(method: string, payload: object) => Promise<void>} init.signal sends a relay through the hub
   * @param {number} init.iceRestartDelay ms a connection may stay `disconnected` before an ICE restart
   * @param {boolean} init.controlChannel whether to open the internal control channel
   * @param {number} init.initialOfferWait ms the polite side waits for the first offer before offering itself (0: no wait)
   * @param {number} init.connectTimeout ms after a completed exchange before a connection that is not up restarts ICE (0: never)
   * @param {typeof RTCPeerConnection} [init.RTCPeerConnection]
   */
  constructor(init) {
    super();
    this.id = init.id;
    this.room = init.room;
    /** The member's user id (its token's `sub`); null when the server has auth off. */
    this.userId = null;
    /** The member's display name (its token's `name`); null when it has none. */
    this.name = null;
    this._learnIdentity(init);
    // The member with the lower id is polite: it yields when offers collide.
    this.polite = init.selfId < init.id;
    this._signal = init.signal;
    this._iceRestartDelay = init.iceRestartDelay;
    this._makingOffer = false;
    this._ignoreOffer = false;
    this._pendingCandidates = [];
    this._queue = Promise.resolve();
    this._closed = false;
    this._restartTimer = null;
    this._state = 'new';
    this._deferInitialOffer = this.polite && init.initialOfferWait > 0;
    this._negotiationDeferred = false;
    this._watchdogDelay = init.connectTimeout;
    this._watchdog = null;
    if (this._deferInitialOffer) {
      // ...but never wait forever: an impolite side with nothing to offer would leave us unconnected.
      this._deferTimer = setTimeout(() => this._endDeferral(), init.initialOfferWait);
    }
    /** @type {Map<MediaStreamTrack, RTCRtpSender>} */
    this._senders = new Map();
    /** @type {Set<RTCDataChannel>} */
    this._channels = new Set();
    this.iceRestarts = 0;
    this.collisions = 0;

    const PC = init.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    if (typeof PC !== 'function') {
      throw new Error('RTCPeerConnection is not available in this environment');
    }
    /** @type {RTCPeerConnection} */
    this.pc = new PC(init.rtcConfiguration);
    this._wire();
    if (init.controlChannel) {
      this.controlChannel = this.pc.createDataChannel(CONTROL_CHANNEL_LABEL, { negotiated: true, id: CONTROL_CHANNEL_ID });
    } else {
      this.controlChannel = null;
    }
  }

  /** The RTCPeerConnection's connectionState (`closed` once the peer is closed). */
  get connectionState() {
    return this._state;
  }

  get closed() {
    return this._closed;
  }

  /** Takes `userId`/`name` from a server message naming this member (they are stamped by the server, never by peers). */
  _learnIdentity(identity) {
    if (typeof identity?.userId === 'string') this.userId = identity.userId;
    if (typeof identity?.name === 'string') this.name = identity.name;
  }

  _wire() {
    const pc = this.pc;
    pc.onnegotiationneeded = () => this._negotiate();
    pc.onicecandidate = ({ candidate }) => this._sendCandidate(candidate);
    pc.onconnectionstatechange = () => this._onConnectionState();
    pc.ontrack = (event) => {
      if (this._closed) return;
      this._emit('track', { track: event.track, streams: [...event.streams], transceiver: event.transceiver, receiver: event.receiver });
    };
    pc.ondatachannel = (event) => {
      if (this._closed) return;
      this._adoptChannel(event.channel, 'remote');
    };
  }

  async _negotiate() {
    if (this._closed) return;
    if (this._deferInitialOffer) {
      // The polite side lets the impolite side make the first offer, so that the two do not collide
      // while the call is set up. (A collision is handled, but Chromium's rollback of an offer whose
      // ICE gathering is under way can leave gathering stalled.) The browser fires
      // negotiationneeded again once the first exchange is done if we still have news.
      this._negotiationDeferred = true;
      return;
    }
    try {
      this._makingOffer = true;
      await this.pc.setLocalDescription();
      if (this._closed || this.pc.localDescription?.type !== 'offer') return;
      await this._signal('Offer', { sdp: this.pc.localDescription.sdp });
    } catch (error) {
      this._fail('offer', error);
    } finally {
      this._makingOffer = false;
    }
  }

  _sendCandidate(candidate) {
    if (this._closed) return;
    let payload;
    if (candidate && candidate.candidate) {
      payload = {
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid ?? null,
        sdpMLineIndex: candidate.sdpMLineIndex ?? null,
        usernameFragment: candidate.usernameFragment ?? null,
      };
    } else {
      // End of candidates: Chromium reports it as a null candidate, Firefox also as an empty one
      // per m-line. Either way we tell the far side with an empty candidate for the current ICE
      // generation (its ufrag), so an end-of-candidates from before an ICE restart cannot end the new one.
      const sdp = this.pc.localDescription?.sdp;
      payload = {
        candidate: '',
        sdpMid: candidate?.sdpMid ?? firstMid(sdp),
        sdpMLineIndex: candidate?.sdpMLineIndex ?? (firstMid(sdp) === null ? null : 0),
        usernameFragment: candidate?.usernameFragment ?? iceUfrag(sdp),
      };
      if (this._sentEndOfCandidates === payload.usernameFragment) return;
      this._sentEndOfCandidates = payload.usernameFragment;
    }
    this._signal('Candidate', { candidate: payload }).catch((error) => this._fail('candidate', error));
  }

  _endDeferral() {
    clearTimeout(this._deferTimer);
    if (!this._deferInitialOffer) return;
    this._deferInitialOffer = false;
    if (this._negotiationDeferred && !this._closed && this.pc.signalingState === 'stable') {
      this._negotiationDeferred = false;
      this._negotiate();
    }
  }

  /**
   * Restarts ICE when, with both descriptions in place, the connection has not come up in time:
   * the recovery for anything that stalls ICE (lost candidates, a stalled gatherer).
   */
  _armWatchdog() {
    if (this._closed || this._watchdogDelay <= 0) return;
    clearTimeout(this._watchdog);
    this._watchdog = setTimeout(() => {
      this._watchdog = null;
      const state = this.pc.connectionState;
      if (this._closed || state === 'connected' || state === 'closed') return;
      if (this.pc.signalingState === 'stable' && this.pc.remoteDescription && this.pc.localDescription) {
        this.restartIce();
      }
      this._armWatchdog();
    }, this._watchdogDelay);
  }

  /** Handles a relayed offer or answer. Messages of one peer are handled strictly in order. */
  handleDescription(type, sdp) {
    return this._enqueue(async () => {
      const pc = this.pc;
      const offerCollision = type === 'offer' && (this._makingOffer || pc.signalingState !== 'stable');
      if (offerCollision) this.collisions++;
      this._ignoreOffer = !this.polite && offerCollision;
      if (this._ignoreOffer) return;
      if (type === 'answer' && pc.signalingState !== 'have-local-offer') {
        // An answer to an offer we have rolled back (polite side of a collision): nothing to do.
        return;
      }
      await pc.setRemoteDescription({ type, sdp });
      await this._flushCandidates();
      if (type === 'offer') {
        await pc.setLocalDescription();
        if (this._closed) return;
        await this._signal('Answer', { sdp: pc.localDescription.sdp });
        // The first offer came: from now on we offer whenever we have news.
        if (this._deferInitialOffer) this._endDeferral();
      }
      if (pc.connectionState !== 'connected' && this._watchdog === null) this._armWatchdog();
    }, type);
  }

  /** Handles a relayed ICE candidate (an empty `candidate` ends the remote candidates). */
  handleCandidate(candidate) {
    return this._enqueue(async () => {
      if (!this.pc.remoteDescription || this._ignoreOffer) {
        // Either the candidate overtook its description (possible across nodes), or it belongs to an
        // offer we are ignoring in a collision. The polite side answers our offer with the same ICE
        // credentials it offered with and need not gather those candidates again, so keep them: they
        // are tried after the next remote description, and dropped if they do not fit it.
        if (this._pendingCandidates.length < MAX_PENDING_CANDIDATES) this._pendingCandidates.push(candidate);
        return;
      }
      await this._addCandidate(candidate, false);
    }, 'candidate');
  }

  async _flushCandidates() {
    const pending = this._pendingCandidates;
    this._pendingCandidates = [];
    for (const candidate of pending) {
      await this._addCandidate(candidate, true);
    }
  }

  async _addCandidate(candidate, buffered) {
    const init = {
      candidate: candidate?.candidate ?? '',
      sdpMid: candidate?.sdpMid ?? null,
      sdpMLineIndex: candidate?.sdpMLineIndex ?? null,
      usernameFragment: candidate?.usernameFragment ?? null,
    };
    if (init.candidate === '') {
      // End of candidates. Browsers differ in which forms they accept; it is only a hint that
      // speeds up ICE completion, so a refusal is not an error.
      if (init.sdpMid === null && init.sdpMLineIndex === null) init.sdpMLineIndex = 0;
      try {
        await this.pc.addIceCandidate(init);
      } catch {
        // ignored on purpose
      }
      return;
    }
    try {
      await this.pc.addIceCandidate(init);
    } catch (error) {
      // A kept candidate of another ICE generation does not fit the description now in place.
      if (!buffered && !this._ignoreOffer) throw error;
    }
  }

  _enqueue(task, operation) {
    const run = async () => {
      if (this._closed) return;
      try {
        await task();
      } catch (error) {
        this._fail(operation, error);
      }
    };
    this._queue = this._queue.then(run, run);
    return this._queue;
  }

  _onConnectionState() {
    if (this._closed) return;
    const newState = this.pc.connectionState;
    const oldState = this._state;
    if (newState === oldState) return;
    this._state = newState;
    if (this._restartTimer !== null && newState !== 'disconnected') {
      clearTimeout(this._restartTimer);
      this._restartTimer = null;
    }
    if (newState === 'connected' && this._watchdog !== null) {
      clearTimeout(this._watchdog);
      this._watchdog = null;
    }
    if (newState === 'failed') {
      this.restartIce();
    } else if (newState === 'disconnected' && this._restartTimer === null) {
      this._restartTimer = setTimeout(() => {
        this._restartTimer = null;
        if (!this._closed && this.pc.connectionState === 'disconnected') this.restartIce();
      }, this._iceRestartDelay);
    }
    this._emit('state', { oldState, newState });
  }

  /** Starts an ICE restart (new ufrag/pwd, fresh candidates); negotiation follows by itself. */
  restartIce() {
    if (this._closed) return;
    this.iceRestarts++;
    this._sentEndOfCandidates = undefined;
    this.pc.restartIce();
  }

  /** Sends a local track to this peer. */
  addTrack(track, streams) {
    if (this._closed || this._senders.has(track)) return this._senders.get(track);
    const sender = this.pc.addTrack(track, ...streams);
    this._senders.set(track, sender);
    return sender;
  }

  /** Swaps a sent track for another of the same kind without renegotiation. */
  async replaceTrack(oldTrack, newTrack) {
    const sender = this._senders.get(oldTrack);
    if (!sender || this._closed) return;
    this._senders.delete(oldTrack);
    this._senders.set(newTrack, sender);
    await sender.replaceTrack(newTrack);
  }

  /** Stops sending a local track; negotiation follows by itself. */
  removeTrack(track) {
    const sender = this._senders.get(track);
    if (!sender) return;
    this._senders.delete(track);
    if (!this._closed) this.pc.removeTrack(sender);
  }

  /** Opens a data channel to this peer; the far side gets it through its `dataChannel` event. */
  createDataChannel(label, init) {
    if (this._closed) throw new Error(`peer ${this.id} in room ${this.room} is closed`);
    const channel = this.pc.createDataChannel(label, init);
    this._adoptChannel(channel, 'local');
    return channel;
  }

  /** The data channels of this peer (the internal control channel excluded), optionally by label. */
  dataChannels(label) {
    return [...this._channels].filter((c) => label === undefined || c.label === label);
  }

  _adoptChannel(channel, origin) {
    if (channel.label === CONTROL_CHANNEL_LABEL && channel.id === CONTROL_CHANNEL_ID) return;
    this._channels.add(channel);
    channel.addEventListener('message', (event) => {
      if (!this._closed) this._emit('message', { channel, label: channel.label, data: event.data });
    });
    channel.addEventListener('close', () => this._channels.delete(channel));
    this._emit('dataChannel', { channel, origin });
  }

  /** Resolves with the peer connection's statistics. */
  getStats(selector) {
    return this.pc.getStats(selector);
  }

  _fail(operation, error) {
    if (this._closed) return;
    this._emit('error', { operation, error });
  }

  /** Closes the peer connection and every data channel on it. Idempotent. */
  close() {
    if (this._closed) return;
    this._closed = true;
    if (this._restartTimer !== null) clearTimeout(this._restartTimer);
    this._restartTimer = null;
    clearTimeout(this._watchdog);
    clearTimeout(this._deferTimer);
    const oldState = this._state;
    this._state = 'closed';
    for (const channel of this._channels) {
      try { channel.close(); } catch { /* already closed */ }
    }
    this._channels.clear();
    try { this.pc.close(); } catch { /* already closed */ }
    if (oldState !== 'closed') this._emit('state', { oldState, newState: 'closed' });
  }
}
