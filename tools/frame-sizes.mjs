#!/usr/bin/env node
// Bytes on the wire of one relayed offer and one candidate in SignalR's JSON and MessagePack hub protocols, written
// by the official JS protocol packages of client-js/ (docs/benchmarks.md, round 5). Needs `npm ci` in client-js first.
//   node tools/frame-sizes.mjs
import { createRequire } from 'node:module';

const require = createRequire(new URL('../client-js/package.json', import.meta.url));
const { JsonHubProtocol, MessageType } = require('@microsoft/signalr');
const { MessagePackHubProtocol } = require('@microsoft/signalr-protocol-msgpack');

// An offer shaped like a browser's: 80 lines of 60 characters ending in CRLF (about 5 KB), which JSON escapes.
const lines = [];
for (let i = 0; i < 80; i++) lines.push(`a=candidate:${i} 1 udp 2122260223 192.168.1.${i} 5${i}000 typ host generation 0`.slice(0, 60));
const sdp = `${lines.join('\r\n')}\r\n`;
const to = 'c2VjcmV0LWNvbm5lY3Rpb24taWQ'; // a connection id's length
const messages = {
  offer: { to, sdp },
  candidate: {
    to,
    candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXr5 network-cost 999',
    sdpMid: '0',
    sdpMLineIndex: 0,
  },
};

const json = new JsonHubProtocol();
const msgpack = new MessagePackHubProtocol();
console.log('| message | JSON bytes | MessagePack bytes | MessagePack / JSON |');
console.log('|---|---|---|---|');
for (const [target, argument] of Object.entries(messages)) {
  const invocation = { type: MessageType.Invocation, target, arguments: [argument] };
  const j = Buffer.byteLength(json.writeMessage(invocation));
  const m = msgpack.writeMessage(invocation).byteLength;
  console.log(`| ${target} | ${j} | ${m} | ${(m / j).toFixed(2)} |`);
}
