// Time-boxed waiting: every await in the tests goes through one of these.

/** Rejects with `message` when `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, message = `timed out after ${ms} ms`) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `condition` (sync or async) until it returns a truthy value, which it resolves with. */
export async function waitFor(condition, { timeout = 10_000, interval = 50, message } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    // A condition that throws ends the wait at once (e.g. a child process died).
    const value = await condition();
    if (value) return value;
    if (Date.now() >= deadline) {
      throw new Error(typeof message === 'function' ? message() : (message ?? `condition not met within ${timeout} ms`));
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
