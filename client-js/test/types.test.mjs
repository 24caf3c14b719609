// The .d.ts types compile under `strict` and describe the exported API (test/types/usage.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import * as sdk from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

it('the type declarations compile against a strict usage example', () => {
  const tsc = path.join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'types', 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});

it('everything the declarations promise is exported at run time', () => {
  for (const name of ['RoomSignalClient', 'ClientState', 'HubProtocol', 'PeerLeftReason', 'DataChannelGroup', 'Peer', 'Emitter', 'HUB_PATH', 'defaultOptions', 'validateRoom', 'sharedChannelId', 'LogLevel', 'HttpTransportType']) {
    assert.ok(name in sdk, `${name} is exported`);
  }
  assert.throws(() => sdk.validateRoom('no spaces'), /^TypeError: room: must be 1-64 characters/);
  assert.equal(sdk.HUB_PATH, '/hubs/room');
  assert.equal(sdk.defaultOptions.protocol, 'json');
  assert.throws(() => new sdk.RoomSignalClient({ url: 'http://127.0.0.1:1/hubs/room', protocol: 'xml' }), /^TypeError: protocol: must be 'json' or 'messagepack'/);
  const id = sdk.sharedChannelId('chat');
  assert.ok(id >= 512 && id <= 1021);
});
