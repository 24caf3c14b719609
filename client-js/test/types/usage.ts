// Compiled (never run) by types.test.mjs: the exported API as a TypeScript user sees it.
import {
  ClientState, DataChannelGroup, HUB_PATH, HubProtocol, LogLevel, Peer, PeerLeftReason, RoomSignalClient, defaultOptions,
  sharedChannelId, validateRoom, type ClientEvents, type JoinResult, type RoomSignalOptions,
} from '@roomsignal/client';

const options: RoomSignalOptions = {
  url: `https://example.org${HUB_PATH}`,
  iceServers: async () => [{ urls: 'stun:stun.example.org:3478' }],
  resumeWindow: 5_000,
  initialOfferWait: 1_000,
  connectTimeout: 8_000,
  healthUrl: null,
  logLevel: LogLevel.Information,
  accessTokenFactory: async () => 'token-from-the-backend',
  serverIceServers: true,
  protocol: HubProtocol.MessagePack,
};
const plain: RoomSignalOptions = { protocol: 'json' };
console.log(plain.protocol, defaultOptions.protocol === 'messagepack');
const client = new RoomSignalClient(options);
const state: ClientState = client.state;
if (state === ClientState.Connected) console.log(client.id?.toUpperCase());

client.on('state', ({ oldState, newState }) => console.log(oldState, newState));
client.on('peerJoined', ({ room, peerId, peer }) => console.log(room, peerId, peer.polite, peer.pc.connectionState));
client.on('peerLeft', ({ reason }) => { const r: PeerLeftReason = reason; console.log(r === PeerLeftReason.Exit); });
client.on('track', ({ track, streams }) => console.log(track.kind, streams.length));
client.on('dataChannel', ({ channel, origin }) => console.log(channel.label, origin));
client.on('message', ({ label, data }) => console.log(label, data));
client.on('peerState', ({ newState }) => console.log(newState));
client.on('peerJoined', ({ peer }) => console.log(peer.userId ?? peer.id, peer.name?.toUpperCase()));
client.on('error', ({ operation, error }) => console.log(operation, error));
client.on('iceServers', ({ iceServers, ttl }) => console.log(iceServers.length, ttl, client.iceServers[0]?.urls));
client.once('connected', ({ id, reconnected }) => console.log(id, reconnected));
client.on('removed', ({ room, reason }) => console.log(room.length, reason.toUpperCase()));

async function main(stream: MediaStream, camera: MediaStreamTrack) {
  client.connect();
  await client.ready(5_000);
  const joined: JoinResult = await client.join('standup');
  console.log(joined.peers.length);
  const seq: number | null = joined.seq ?? client.roomSeq('standup');
  console.log(seq);
  client.addStream(stream);
  await client.replaceTrack(stream.getVideoTracks()[0], camera);
  client.removeTrack(camera);
  const chat: DataChannelGroup = client.openDataChannel('chat');
  const sent: number = chat.send('hi');
  const direct: RTCDataChannel = client.openDataChannel('file', { peerId: joined.peers[0], ordered: true });
  direct.send(new Uint8Array([1, 2, 3]));
  const peers: Peer[] = client.peers('standup');
  peers[0]?.restartIce();
  console.log(sent, sharedChannelId('chat'), defaultOptions.resumeWindow);
  validateRoom('standup');
  await client.leave('standup');
  await client.disconnect();
}

type Names = keyof ClientEvents;
const names: Names[] = ['state', 'connected', 'disconnected', 'joined', 'left', 'peerJoined', 'peerLeft', 'peerState', 'track', 'dataChannel', 'message', 'error'];
console.log(names, main);

// @ts-expect-error: unknown events are refused
client.on('nope', () => {});
