// The video-room demo served by RoomSignal.Server at `/`. It uses nothing but the SDK and the DOM.
import { RoomSignalClient } from '../src/index.js';

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), selfId: $('self-id'), notice: $('notice'),
  joinForm: $('join-form'), room: $('room'), join: $('join'), leave: $('leave'),
  mic: $('toggle-mic'), camera: $('toggle-camera'), cameraSelect: $('camera-select'),
  tiles: $('tiles'), localVideo: $('local-video'), localState: $('local-state'),
  chatLog: $('chat-log'), chatForm: $('chat-form'), chatInput: $('chat-input'), chatSend: $('chat-send'),
};

const params = new URLSearchParams(location.search);
// ?ice=stun:stun.example.org:3478,turn:... adds ICE servers (none are needed on one machine or LAN).
const iceServers = (params.get('ice') ?? '').split(',').filter(Boolean).map((urls) => ({ urls }));
// Numeric SDK options can be tried out from the address bar too, e.g. ?initialOfferWait=0.
const tuning = {};
for (const key of ['initialOfferWait', 'connectTimeout', 'iceRestartDelay', 'resumeWindow', 'logLevel']) {
  if (params.has(key) && Number.isFinite(Number(params.get(key)))) tuning[key] = Number(params.get(key));
}
// ?protocol=messagepack switches the hub protocol (default json).
if (params.has('protocol')) tuning.protocol = params.get('protocol');
// ?token=<jwt> for a server with auth on (mint one with `RoomSignal.Server token --sub alice`).
if (params.has('token')) tuning.accessToken = params.get('token');
// ?relay=1 sends media through TURN only (iceTransportPolicy 'relay'): a quick check of the server's TURN setup.
// The SDK asks the server for its ICE servers (STUN, TURN with fresh credentials) after every (re)connect.
const rtcConfiguration = params.get('relay') === '1' ? { iceTransportPolicy: 'relay' } : undefined;
const client = new RoomSignalClient({ iceServers, rtcConfiguration, ...tuning });
const chat = client.openDataChannel('chat');

let currentRoom = null;
/** @type {MediaStream | null} */
let localStream = null;
/** @type {Map<string, {el: HTMLElement, video: HTMLVideoElement, state: HTMLElement, stream: MediaStream}>} */
const tiles = new Map();

// Exposed for the browser tests and for poking around in the console.
window.roomsignalDemo = { client, chat, tiles, get room() { return currentRoom; }, get localStream() { return localStream; } };

function short(id) {
  return id ? id.slice(0, 6) : '';
}

/** How a peer is shown: its display name or user id when the server has auth on, else its connection id's start. */
function who(peer, peerId) {
  return peer?.name ?? peer?.userId ?? short(peerId);
}

function notice(text) {
  ui.notice.textContent = text ?? '';
  ui.notice.hidden = !text;
}

function chatLine(who, text, cls) {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  if (who) {
    const span = document.createElement('span');
    span.className = 'who';
    span.textContent = `${who}:`;
    li.append(span);
  }
  li.append(document.createTextNode(text));
  ui.chatLog.append(li);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

// ---- client state ----------------------------------------------------------------------

client.on('state', ({ newState }) => {
  ui.status.textContent = newState;
  ui.status.dataset.state = newState;
  ui.selfId.textContent = client.id ? `you are ${short(client.id)}` : '';
});
client.on('connected', ({ id, reconnected }) => {
  ui.selfId.textContent = `you are ${short(id)}`;
  if (reconnected) chatLine(null, 'reconnected to the server (new session, calls restart)', 'system');
});
client.on('disconnected', ({ reason }) => {
  if (currentRoom) chatLine(null, `lost the server: ${reason}`, 'system');
});
client.on('joined', ({ room, peers }) => {
  chatLine(null, `joined ${room}; ${peers.length === 0 ? 'nobody else here yet' : `${peers.length} already here`}`, 'system');
});
client.on('error', ({ operation, error, peerId }) => {
  console.warn(`roomsignal ${operation}${peerId ? ` (${short(peerId)})` : ''}:`, error);
});

// ---- peers and tiles -------------------------------------------------------------------

function addTile(peerId, peer) {
  let tile = tiles.get(peerId);
  if (tile) return tile;
  const el = document.createElement('figure');
  el.className = 'tile remote';
  el.dataset.peerId = peerId;
  el.dataset.state = 'new';
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement('figcaption');
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = peer?.name ?? peer?.userId ?? `peer ${short(peerId)}`;
  const state = document.createElement('span');
  state.className = 'state';
  state.textContent = 'new';
  caption.append(name, state);
  el.append(video, caption);
  ui.tiles.append(el);
  const stream = new MediaStream();
  video.srcObject = stream;
  tile = { el, video, state, stream };
  tiles.set(peerId, tile);
  return tile;
}

function removeTile(peerId) {
  const tile = tiles.get(peerId);
  if (!tile) return;
  tiles.delete(peerId);
  tile.video.srcObject = null;
  tile.el.remove();
}

function play(video) {
  video.play().catch(() => {
    // Autoplay with sound can be refused before any user gesture; play muted rather than not at all.
    video.muted = true;
    video.play().catch(() => {});
  });
}

client.on('peerJoined', ({ peerId, peer, room }) => {
  if (room !== currentRoom) return;
  addTile(peerId, peer);
  chatLine(null, `${who(peer, peerId)} joined`, 'system');
});
client.on('peerLeft', ({ peerId, peer, room, reason }) => {
  if (room !== currentRoom) return;
  removeTile(peerId);
  if (reason === 'exit') chatLine(null, `${who(peer, peerId)} left`, 'system');
});
client.on('peerState', ({ peerId, newState }) => {
  const tile = tiles.get(peerId);
  if (!tile) return;
  tile.el.dataset.state = newState;
  tile.state.textContent = newState;
});
client.on('track', ({ peerId, peer, track }) => {
  const tile = tiles.get(peerId) ?? addTile(peerId, peer);
  for (const old of tile.stream.getTracks().filter((t) => t.kind === track.kind)) tile.stream.removeTrack(old);
  tile.stream.addTrack(track);
  play(tile.video);
});

// ---- chat ------------------------------------------------------------------------------

client.on('message', ({ label, data, peerId, peer }) => {
  if (label !== 'chat' || typeof data !== 'string') return;
  let text;
  try {
    text = String(JSON.parse(data).text ?? '');
  } catch {
    return;
  }
  chatLine(who(peer, peerId), text);
});

ui.chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text) return;
  const sent = chat.send(JSON.stringify({ text }));
  chatLine('you', text);
  if (sent === 0) chatLine(null, 'nobody is connected to hear that yet', 'system');
  ui.chatInput.value = '';
});

// ---- local media -----------------------------------------------------------------------

async function startMedia() {
  if (localStream) return localStream;
  if (!navigator.mediaDevices?.getUserMedia) {
    notice('This page needs a secure context (https or http://localhost) for camera and microphone; joining without media.');
    return null;
  }
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  } catch (error) {
    try {
      localStream = await navigator.mediaDevices.getUserMedia({ audio: true });
      notice(`No camera (${error.name}); joining with the microphone only.`);
    } catch (error2) {
      notice(`No camera or microphone (${error2.name}); joining to watch and chat.`);
      return null;
    }
  }
  ui.localVideo.srcObject = localStream;
  client.addStream(localStream);
  await listCameras();
  return localStream;
}

async function listCameras() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const cameras = devices.filter((d) => d.kind === 'videoinput');
  const current = localStream?.getVideoTracks()[0]?.getSettings().deviceId;
  ui.cameraSelect.replaceChildren(...cameras.map((d, i) => {
    const option = document.createElement('option');
    option.value = d.deviceId;
    option.textContent = d.label || `Camera ${i + 1}`;
    option.selected = d.deviceId === current;
    return option;
  }));
}

ui.cameraSelect.addEventListener('change', async () => {
  const oldTrack = localStream?.getVideoTracks()[0];
  if (!oldTrack) return;
  try {
    const fresh = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: ui.cameraSelect.value } } });
    const newTrack = fresh.getVideoTracks()[0];
    newTrack.enabled = oldTrack.enabled;
    await client.replaceTrack(oldTrack, newTrack);
    localStream.removeTrack(oldTrack);
    localStream.addTrack(newTrack);
    oldTrack.stop();
  } catch (error) {
    notice(`Could not switch camera: ${error.message}`);
  }
});

function toggle(kind, button, onLabel, offLabel) {
  const track = localStream?.getTracks().find((t) => t.kind === kind);
  if (!track) return;
  track.enabled = !track.enabled;
  button.setAttribute('aria-pressed', String(!track.enabled));
  button.textContent = track.enabled ? onLabel : offLabel;
}
ui.mic.addEventListener('click', () => toggle('audio', ui.mic, 'Mute', 'Unmute'));
ui.camera.addEventListener('click', () => toggle('video', ui.camera, 'Camera off', 'Camera on'));

// ---- join / leave ----------------------------------------------------------------------

function setInRoom(room) {
  currentRoom = room;
  const inRoom = room !== null;
  ui.room.disabled = inRoom;
  ui.join.disabled = inRoom;
  ui.leave.disabled = !inRoom;
  ui.chatInput.disabled = !inRoom;
  ui.chatSend.disabled = !inRoom;
  const hasAudio = !!localStream?.getAudioTracks().length;
  const hasVideo = !!localStream?.getVideoTracks().length;
  ui.mic.disabled = !(inRoom && hasAudio);
  ui.camera.disabled = !(inRoom && hasVideo);
  ui.cameraSelect.disabled = !(inRoom && hasVideo && ui.cameraSelect.options.length > 1);
  ui.localState.textContent = inRoom ? `in ${room}` : 'not in a room';
  document.body.dataset.room = room ?? '';
  if (inRoom) {
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    history.replaceState(null, '', url);
  }
}

ui.joinForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const room = ui.room.value.trim();
  if (!room || currentRoom) return;
  ui.join.disabled = true;
  notice(null);
  try {
    await startMedia();
    setInRoom(room);
    await client.join(room);
  } catch (error) {
    setInRoom(null);
    notice(`Could not join: ${error.message}`);
  }
});

ui.leave.addEventListener('click', async () => {
  const room = currentRoom;
  if (!room) return;
  setInRoom(null);
  for (const peerId of [...tiles.keys()]) removeTile(peerId);
  try {
    await client.leave(room);
  } catch (error) {
    console.warn('leave failed', error);
  }
  chatLine(null, `left ${room}`, 'system');
});

// Leave promptly when the tab goes away, so the others drop our tile at once.
window.addEventListener('pagehide', () => {
  client.disconnect();
});

ui.room.value = params.get('room') ?? '';
client.connect();
if (params.get('autojoin') === '1' && ui.room.value) ui.join.click();
