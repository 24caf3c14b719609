// A small typed event emitter (the types live in index.d.ts). Listener errors are caught and
// reported on the console so that one faulty handler cannot break the signaling state machine.

/**
 * @template {Record<string, any>} Events
 */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  on(event, listener) {
    let set = this._listeners.get(event);
    if (!set) {
      set = new Set();
      this._listeners.set(event, set);
    }
    set.add(listener);
    return this;
  }

  once(event, listener) {
    const wrapper = (ctx) => {
      this.off(event, wrapper);
      listener(ctx);
    };
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  off(event, listener) {
    if (event === undefined) {
      this._listeners.clear();
      return this;
    }
    const set = this._listeners.get(event);
    if (!set) return this;
    if (listener === undefined) {
      set.clear();
      return this;
    }
    for (const l of set) {
      if (l === listener || l.listener === listener) set.delete(l);
    }
    return this;
  }

  listenerCount(event) {
    return this._listeners.get(event)?.size ?? 0;
  }

  /** @protected */
  _emit(event, ctx) {
    const set = this._listeners.get(event);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        listener(ctx);
      } catch (err) {
        console.error(`roomsignal: a '${event}' listener threw`, err);
      }
    }
    return true;
  }
}
