// HS256 access tokens for a test server with auth on, minted the way docs/auth.md shows a Node backend doing it.
import crypto from 'node:crypto';

/** A signing key of the required length (at least 32 bytes), fresh per run. */
export const testSigningKey = `roomsignal-js-test-key-${crypto.randomBytes(16).toString('hex')}`;

const base64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token for `sub` (with `name` when given) allowed into `rooms`, valid for `ttlSeconds`. */
export function mintToken({ sub, name, rooms = ['*'], ttlSeconds = 600, key = testSigningKey }) {
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub, ...(name ? { name } : {}), rooms, iat: now, nbf: now - 5, exp: now + ttlSeconds })}`;
  return `${unsigned}.${crypto.createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}
