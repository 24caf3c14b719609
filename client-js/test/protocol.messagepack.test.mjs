// The whole protocol suite (protocol.test.mjs) again, over the MessagePack hub protocol: every
// message must read the same (same field names, same values) as over JSON.
process.env.ROOMSIGNAL_TEST_PROTOCOL = 'messagepack';
await import('./protocol.test.mjs');
