export {
  RoomSignalClient,
  ClientState,
  HubProtocol,
  PeerLeftReason,
  DataChannelGroup,
  HUB_PATH,
  defaultOptions,
  validateRoom,
  sharedChannelId,
} from './client.js';
export { Peer } from './peer.js';
export { Emitter } from './emitter.js';
export { LogLevel, HttpTransportType } from '@microsoft/signalr';
