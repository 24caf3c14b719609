// A call between two browsers on different nodes behind one front (nginx from scripts/cluster.sh or
// docker-compose): what both the cluster.sh test and the compose test check.
import assert from 'node:assert/strict';
import { assertVideoFlows, chatLines, joinRoom, openDemo, waitConnected } from './browser.mjs';
import { waitFor } from './wait.mjs';

/** The node nginx pinned this page's browser context to (its roomsignal_node cookie). */
export async function nodeOf(demo) {
  const cookies = await demo.context.cookies();
  return cookies.find((c) => c.name === 'roomsignal_node')?.value;
}

/**
 * Opens demo pages through `front` until two land on different nodes (nginx spreads new browsers
 * round-robin), has them join `room`, and asserts video both ways and a chat line from the first to
 * the second. Closes every page it opened.
 */
export async function callAcrossNodes(browser, front, room, chat) {
  const base = front.replace(/\/$/, '');
  const opened = [];
  try {
    const a = await openDemo(browser, base);
    opened.push(a);
    let b;
    for (let i = 0; i < 6 && !b; i++) {
      const candidate = await openDemo(browser, base);
      opened.push(candidate);
      if ((await nodeOf(candidate)) !== (await nodeOf(a))) b = candidate;
    }
    assert.ok(b, 'no page landed on the second node');
    assert.deepEqual([await nodeOf(a), await nodeOf(b)].sort(), ['node1', 'node2']);

    await joinRoom(a.page, room);
    await joinRoom(b.page, room);
    await Promise.all([waitConnected(a.page, 1), waitConnected(b.page, 1)]);
    await Promise.all([assertVideoFlows(a.page, 1), assertVideoFlows(b.page, 1)]);
    await a.page.fill('#chat-input', chat);
    await a.page.click('#chat-send');
    await waitFor(async () => (await chatLines(b.page)).some((l) => l.endsWith(chat)), { timeout: 10_000, message: 'chat did not cross nginx' });
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    for (const demo of opened) await demo.context.close().catch(() => {});
  }
}
