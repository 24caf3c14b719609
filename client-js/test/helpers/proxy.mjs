// A TCP proxy on a loopback port in front of a server, to cut a client's network on demand.
import net from 'node:net';

/**
 * @param {number} targetPort the server's port on 127.0.0.1
 * @returns {Promise<{ port: number, url: string, cut: () => void, blackhole: () => void, refuse: (on: boolean) => void, close: () => Promise<void> }>}
 */
export async function startProxy(targetPort) {
  const pairs = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, blackholed: false };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (data) => { if (!pair.blackholed) upstream.write(data); });
    upstream.on('data', (data) => { if (!pair.blackholed) client.write(data); });
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /** Resets every open connection, as a dropped network does. */
    cut() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
    },
    /** Silently loses every byte on the open connections from now on (they stay open). */
    blackhole() {
      for (const pair of pairs) pair.blackholed = true;
    },
    /** While on, new connections are reset as soon as they open. */
    refuse(on) {
      refusing = on;
    },
    async close() {
      this.cut();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
