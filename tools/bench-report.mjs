#!/usr/bin/env node
// Turns the JSON summaries of tools/bench.sh into the markdown tables of docs/benchmarks.md (medians
// over the runs of each label) and, when the ladder section ran and gnuplot is installed, the plot
// latency-vs-load.png (p50 and p99 against offered load) in the same directory.
//   node tools/bench-report.mjs bench-results/<run> [more dirs...]
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node tools/bench-report.mjs DIR [DIR...]');
  process.exit(2);
}

const runs = [];
for (const dir of dirs) {
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      runs.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    } catch {
      console.error(`skipping ${f}: not a summary`);
    }
  }
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
// Runs of idle/connect carry their repetition in the label ("idle/product-1node/2"): group without it.
const group = (prefix) => {
  const g = new Map();
  for (const r of runs.filter((r) => r.label.startsWith(prefix + '/'))) {
    const key = r.label.replace(/\/\d+$/, '');
    if (!g.has(key)) g.set(key, []);
    g.get(key).push(r);
  }
  return g;
};
const col = (rs, f) => median(rs.map((r) => { try { return f(r); } catch { return NaN; } }));
const okText = (rs) => `${rs.filter((r) => r.ok).length}/${rs.length}`;

function table(title, header, rows) {
  if (rows.length === 0) return;
  console.log(`\n### ${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

const relayRows = [];
for (const prefix of ['pair', 'build', 'cbuild', 'transport', 'cpair', 'cfloor', 'iopair', 'protocol', 'relay', 'ceiling', 'product']) {
  for (const [label, rs] of group(prefix)) {
    relayRows.push([
      label, okText(rs),
      fmt(col(rs, (r) => r.results.delivered_per_s), 0),
      fmt(col(rs, (r) => r.results.latency.p50_ms), 2), fmt(col(rs, (r) => r.results.latency.p99_ms), 2),
      fmt(col(rs, (r) => r.results.latency.p999_ms), 2), fmt(col(rs, (r) => r.results.latency.max_ms), 1),
      fmt(col(rs, (r) => r.results.lost), 0),
      fmt(col(rs, (r) => r.cpu.server_us_per_msg)), fmt(col(rs, (r) => r.cpu.redis_us_per_msg)),
      fmt(col(rs, (r) => r.cpu.total_us_per_msg)), fmt(col(rs, (r) => r.cpu.driver_cores), 2),
      fmt(col(rs, (r) => (r.results.send_lag.count > 0 ? r.results.send_lag.p99_ms : NaN)), 2), // closed loop: nothing scheduled, '–'
    ]);
  }
}
table('Relay (median of the runs; latency one-way, CPU per delivered message from /proc)',
  ['label', 'runs ok', 'delivered/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'lost', 'server µs/msg', 'redis µs/msg', 'total µs/msg', 'driver cores', 'driver lag p99 ms'],
  relayRows);

// Interleaved sets (relay-pair, transport-pair, cluster-pair, cluster-floor, redis-io-pair, protocol-pair): the ratio of each target to a reference, run by run (run i of one
// target and run i of the other were taken minutes apart at most), then the median of those ratios.
const ratioRows = [];
// transport-pair's variants are named on the command line (TRANSPORT_VARIANTS, CEILING_VARIANTS): each product variant
// against "before" (if it ran) and against every ceiling.
const transportNames = [...new Set(runs.filter((r) => r.label.startsWith('transport/')).map((r) => r.label.split('/')[1]))];
const transportRefs = ['before', ...transportNames.filter((n) => n.startsWith('ceiling'))];
const transportSets = transportNames.filter((n) => !transportRefs.includes(n)).map((n) => ['transport', n, transportRefs]);
for (const [prefix, target, refs] of [['pair', 'product-1node', ['ceiling-best', 'ceiling-default']], ['build', 'current', ['baseline', 'ceiling-best']], ['build', 'baseline', ['ceiling-best']], ['cbuild', 'current', ['baseline']], ...transportSets, ['cpair', 'product-2nodes', ['product-1node']], ['iopair', 'threadpool', ['dedicated']],
  // protocol-pair: MessagePack against JSON on the same servers, and each protocol against the ceiling speaking it.
  ['protocol', 'msgpack-1node', ['json-1node', 'msgpack-ceiling']], ['protocol', 'json-1node', ['json-ceiling']],
  ['protocol', 'msgpack-ceiling', ['json-ceiling']], ['protocol', 'msgpack-2nodes', ['json-2nodes', 'msgpack-1node']],
  ['protocol', 'json-2nodes', ['json-1node']],
  // cluster-floor: two ceiling nodes through Redis against one ceiling node, and RoomSignal's two nodes against them.
  ['cfloor', 'ceiling-2nodes-best', ['ceiling-best']], ['cfloor', 'ceiling-2nodes-default', ['ceiling-best']],
  ['cfloor', 'product-2nodes', ['product-1node', 'ceiling-2nodes-best', 'ceiling-2nodes-default']],
  ['cfloor', 'product-1node', ['ceiling-best']]]) {
  for (const mode of ['open5000', 'closed']) {
    const byRun = (name) => new Map(runs.filter((r) => r.label.startsWith(`${prefix}/${name}/${mode}/`)).map((r) => [r.label.split('/').pop(), r]));
    const mine = byRun(target);
    for (const ref of refs) {
      const theirs = byRun(ref);
      const pairs = [...mine].filter(([i]) => theirs.has(i)).map(([i, r]) => [r, theirs.get(i)]);
      if (pairs.length === 0) continue;
      const ratio = (f) => median(pairs.map(([x, y]) => { try { return f(x) / f(y); } catch { return NaN; } }));
      ratioRows.push([`${prefix}: ${target} / ${ref}`, mode, pairs.length,
        fmt(ratio((r) => r.cpu.total_us_per_msg), 2) + '×', fmt(ratio((r) => r.results.latency.p99_ms), 2) + '×',
        fmt(ratio((r) => r.results.delivered_per_s), 2) + '×']);
    }
  }
}
table('Interleaved ratios (median of the run-by-run ratios)', ['pair', 'load', 'run pairs', 'total µs/msg', 'p99', 'delivered/s'], ratioRows);

table('Join (1,000 peers into 100 rooms at 500 joins/s)',
  ['label', 'runs ok', 'joins/s', 'result p50 ms', 'result p99 ms', 'created p99 ms', 'room settled p99 ms', 'anomalies', 'server µs/join'],
  [...group('join')].map(([label, rs]) => [label, okText(rs),
    fmt(col(rs, (r) => r.results.joins_per_s), 0),
    fmt(col(rs, (r) => r.results.result_latency.p50_ms), 2), fmt(col(rs, (r) => r.results.result_latency.p99_ms), 2),
    fmt(col(rs, (r) => r.results.created_latency.p99_ms), 2), fmt(col(rs, (r) => r.results.room_settled_after_last_join.p99_ms), 2),
    fmt(col(rs, (r) => r.results.anomalies.total), 0), fmt(col(rs, (r) => r.cpu.total_us_per_msg), 0)]));

table('Churn (join/exit/disconnect cycles)',
  ['label', 'runs ok', 'cycles', 'cycles/s', 'join p99 ms', 'anomalies', 'RSS before MiB', 'RSS after MiB', 'server µs/cycle'],
  [...group('churn')].map(([label, rs]) => [label, okText(rs),
    fmt(col(rs, (r) => r.results.cycles), 0), fmt(col(rs, (r) => r.results.cycles_per_s), 0),
    fmt(col(rs, (r) => r.results.join_latency.p99_ms), 2), fmt(col(rs, (r) => r.results.anomalies.total), 0),
    fmt(col(rs, (r) => r.results.server_rss_before_bytes / 1048576), 0), fmt(col(rs, (r) => r.results.server_rss_after_bytes / 1048576), 0),
    fmt(col(rs, (r) => r.cpu.total_us_per_msg), 0)]));

table('Idle connections (joined to rooms of 4, hub pings every 15 s)',
  ['label', 'runs ok', 'connections', 'open at end', 'RSS before MiB', 'RSS loaded MiB', 'RSS end of hold MiB', 'server KiB/conn', 'Redis bytes/conn', 'connect p99 ms'],
  [...group('idle')].map(([label, rs]) => [label, okText(rs),
    fmt(col(rs, (r) => r.results.opened), 0), fmt(col(rs, (r) => r.results.open_at_end_of_hold), 0),
    fmt(col(rs, (r) => r.results.server_rss_before_bytes / 1048576), 0), fmt(col(rs, (r) => r.results.server_rss_loaded_bytes / 1048576), 0),
    fmt(col(rs, (r) => r.results.server_rss_end_of_hold_bytes / 1048576), 0),
    fmt(col(rs, (r) => r.results.server_rss_per_connection_kib), 2), fmt(col(rs, (r) => r.results.redis_bytes_per_connection), 0),
    fmt(col(rs, (r) => r.results.connect_latency.p99_ms), 1)]));

table('Connect (as fast as accepted, 256 in flight)',
  ['label', 'runs ok', 'connections', 'refused', 'seconds', 'conn/s', 'p50 ms', 'p99 ms', 'dropped', 'back', 'all back after first drop s'],
  [...group('connect')].map(([label, rs]) => [label, okText(rs),
    fmt(col(rs, (r) => r.results.opened), 0), fmt(col(rs, (r) => r.results.refused), 0),
    fmt(col(rs, (r) => r.results.connect_seconds), 2), fmt(col(rs, (r) => r.results.connections_per_s), 0),
    fmt(col(rs, (r) => r.results.connect_latency.p50_ms), 1), fmt(col(rs, (r) => r.results.connect_latency.p99_ms), 1),
    fmt(col(rs, (r) => r.results.dropped), 0), fmt(col(rs, (r) => r.results.reconnected), 0),
    fmt(col(rs, (r) => r.results.all_back_after_first_drop_s ?? NaN), 2)]));

// Ladder: latency against offered load, one series per target.
const ladder = new Map();
for (const r of runs.filter((r) => r.label.startsWith('ladder/'))) {
  const [, target, rate] = r.label.split('/');
  if (!ladder.has(target)) ladder.set(target, new Map());
  const points = ladder.get(target);
  if (!points.has(+rate)) points.set(+rate, []);
  points.get(+rate).push(r);
}
if (ladder.size > 0) {
  const out = dirs[0];
  const rows = [];
  const series = [];
  for (const [target, points] of ladder) {
    const file = path.join(out, `ladder-${target}.dat`);
    const lines = ['# offered delivered p50_ms p99_ms server_us_per_msg total_us_per_msg'];
    for (const rate of [...points.keys()].sort((a, b) => a - b)) {
      const rs = points.get(rate);
      const v = [rate, col(rs, (r) => r.results.delivered_per_s), col(rs, (r) => r.results.latency.p50_ms),
        col(rs, (r) => r.results.latency.p99_ms), col(rs, (r) => r.cpu.server_us_per_msg), col(rs, (r) => r.cpu.total_us_per_msg)];
      lines.push(v.join(' '));
      rows.push([target, rate, fmt(v[1], 0), fmt(v[2], 2), fmt(v[3], 2), fmt(v[4]), fmt(v[5]), okText(rs)]);
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
    series.push({ target, file });
  }
  table('Latency against offered load (open loop)', ['target', 'offered msg/s', 'delivered/s', 'p50 ms', 'p99 ms', 'server µs/msg', 'total µs/msg', 'runs ok'], rows);
  const png = path.join(out, 'latency-vs-load.png');
  const plots = series.flatMap(({ target, file }) => [
    `'${file}' using 1:4 with linespoints lw 2 title '${target} p99'`,
    `'${file}' using 1:3 with linespoints dt 2 title '${target} p50'`,
  ]).join(', ');
  const script = [
    'set terminal pngcairo size 900,540 enhanced font "sans,11"', `set output '${png}'`,
    "set title 'RoomSignal relay: one-way latency against offered load (2-core machine, driver on the same box)'",
    "set xlabel 'offered load (messages/s, open loop)'", "set ylabel 'latency (ms, log scale)'",
    'set logscale y', 'set grid', 'set key top left', `plot ${plots}`,
  ].join('\n');
  try {
    execFileSync('gnuplot', [], { input: script });
    console.log(`\nplot: ${png}`);
  } catch (e) {
    console.error(`no plot (gnuplot: ${e.message}); install Debian's gnuplot-nox`);
  }
}
