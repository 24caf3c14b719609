// Headless Debian Chromium driven by playwright-core, with fake camera and microphone.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { waitFor } from './wait.mjs';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const testOutputDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output');

export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Background tabs must not be throttled: every page of a test is "in the background" but one.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export async function launchChromium() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH).`);
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumFlags, headless: true, timeout: 30_000 });
}

export function ensureOutputDir() {
  mkdirSync(testOutputDir, { recursive: true });
  return testOutputDir;
}

/**
 * Opens the demo in a fresh browser context (its own "person"), with console errors collected.
 * @param {import('playwright-core').Browser} browser
 * @param {string} baseUrl e.g. http://127.0.0.1:5000
 */
export async function openDemo(browser, baseUrl, { viewport = { width: 1100, height: 720 }, query = '' } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(`${baseUrl}/${query}`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.roomsignalDemo?.client?.state === 'connected', null, { timeout: 15_000 });
  return { page, context, errors };
}

/** Types a room name and clicks Join; resolves once the page is in the room. */
export async function joinRoom(page, room) {
  await page.fill('#room', room);
  await page.click('#join');
  await page.waitForFunction((r) => document.body.dataset.room === r && window.roomsignalDemo.client.rooms.includes(r), room);
}

/**
 * Joins every page to `room`, one after another, and waits until each is connected to all the
 * others; resolves with what each page sees of its peers (see waitConnected).
 */
export async function joinCall(demos, room) {
  for (const { page } of demos) await joinRoom(page, room);
  return Promise.all(demos.map(({ page }) => waitConnected(page, demos.length - 1)));
}

/** What a page sees of its peers: id, RTCPeerConnection state, tile state. */
export function peerStates(page) {
  return page.evaluate(() => window.roomsignalDemo.client.peers().map((p) => ({
    id: p.id,
    pc: p.pc.connectionState,
    tile: document.querySelector(`[data-peer-id="${p.id}"]`)?.dataset.state ?? null,
  })));
}

/** Waits until a page has exactly `count` peers, each with a connected RTCPeerConnection and tile. */
export async function waitConnected(page, count, timeout = 20_000) {
  return waitFor(async () => {
    const peers = await peerStates(page);
    return peers.length === count && peers.every((p) => p.pc === 'connected' && p.tile === 'connected') ? peers : false;
  }, { timeout, interval: 100, message: `expected ${count} connected peers` }).catch(async (error) => {
    const peers = await peerStates(page).catch(() => 'page gone');
    throw new Error(`${error.message}; page sees ${JSON.stringify(peers)}`);
  });
}

/** Per remote peer: the video's width and the inbound video bytes so far. */
export function mediaStats(page) {
  return page.evaluate(async () => {
    const demo = window.roomsignalDemo;
    const out = {};
    for (const peer of demo.client.peers()) {
      const tile = demo.tiles.get(peer.id);
      let bytes = 0;
      const stats = await peer.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') bytes += s.bytesReceived ?? 0;
      });
      out[peer.id] = { videoWidth: tile?.video.videoWidth ?? 0, bytesReceived: bytes };
    }
    return out;
  });
}

/** Chat lines shown on a page, as text. */
export function chatLines(page) {
  return page.$$eval('#chat-log li:not(.system)', (items) => items.map((li) => li.textContent));
}

/** Waits until every remote video on the page shows frames and its received bytes keep growing. */
export async function assertVideoFlows(page, peerCount) {
  const first = await waitFor(async () => {
    const stats = await mediaStats(page);
    const values = Object.values(stats);
    return values.length === peerCount && values.every((s) => s.videoWidth > 0 && s.bytesReceived > 0) ? stats : false;
  }, { timeout: 15_000, interval: 200, message: `not every one of ${peerCount} remote videos had frames` });
  await waitFor(async () => {
    const now = await mediaStats(page);
    return Object.entries(first).every(([id, s]) => (now[id]?.bytesReceived ?? 0) > s.bytesReceived);
  }, { timeout: 10_000, interval: 200, message: 'inbound video bytes stopped growing' });
}

