/**
 * What the demo shows: the live frame (TTY), the one-line progress (pipes and logs) and the final summary,
 * all drawn from one state object that demo.mjs keeps up to date.
 */
import { percentile } from '../../../bench/lib/stats.mjs';
import { pad, padStart } from './terminal.mjs';

export function latencyPercentiles(state) {
  const sorted = Float64Array.from(state.latencies).sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

function ms(value) {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : '–';
}

function elapsed(state) {
  return `${(((state.finishedAt ?? performance.now()) - state.startedAt) / 1000).toFixed(1)} s`;
}

function bar(fraction, width, paint, c) {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return paint('█'.repeat(filled)) + c.gray('░'.repeat(width - filled));
}

/** One square per worker: busy, free, or not yet given back after a recovery (slow start). */
function workers(backend, c) {
  const shown = Math.min(backend.capacity, 16);
  let squares = '';
  for (let slot = 0; slot < shown; slot++) {
    if (slot < backend.inFlight) squares += c.cyan('■');
    else if (slot < backend.effectiveCapacity) squares += c.gray('□');
    else squares += c.dim('·');
  }
  return squares;
}

/** Runs answered by each backend, from the gateway's status. */
export function servedBy(backend) {
  return Object.values(backend.outcomes).reduce((sum, count) => sum + count, 0);
}

/** The gateway's view of a backend in a word, with its colour. */
function backendState(backend, c) {
  if (backend.adminState === 'drain') return c.yellow('◐ draining');
  if (backend.adminState === 'maint') return c.gray('■ maint');
  if (backend.health === 'ejected') return c.red('✖ ejected');
  if (backend.health === 'unknown') return c.gray('○ probing');
  if (backend.effectiveCapacity < backend.capacity) return c.yellow('● warming');
  return c.green('● up');
}

function backendWord(backend) {
  if (backend.adminState !== 'ready') return backend.adminState;
  if (backend.health === 'ejected') return 'EJECTED';
  if (backend.health === 'healthy') return backend.effectiveCapacity < backend.capacity ? 'warming' : 'up';
  return backend.health;
}

function backendNote(backend, sim, c) {
  if (sim?.crashed) return c.magenta('server crashed');
  if (backend.health === 'ejected') {
    return c.red(
      sim?.recovered ? 'server back, waiting for a health check' : 'out until a health check passes',
    );
  }
  if (backend.health === 'healthy' && backend.effectiveCapacity < backend.capacity) {
    return c.yellow(`slow start: ${backend.effectiveCapacity} of ${backend.capacity} workers`);
  }
  return '';
}

function outcomeLine(state, c) {
  const { ok, compile, runtime, overload, failed } = state.counts;
  const zeroGood = (count, label) =>
    count === 0 ? c.green(`${label} 0`) : c.red(c.bold(`${label} ${count}`));
  return [
    c.green(`ok ${ok}`),
    c.yellow(`compile error ${compile}`),
    c.yellow(`runtime error ${runtime}`),
    zeroGood(overload, 'overload'),
    zeroGood(failed, 'failed'),
  ].join('   ');
}

function gatewayLine(state) {
  const backends = state.status?.backends ?? [];
  const running = backends.reduce((sum, backend) => sum + backend.inFlight, 0);
  const capacity = backends.reduce(
    (sum, backend) => sum + (backend.health === 'healthy' ? backend.effectiveCapacity : 0),
    0,
  );
  return `running ${running}/${capacity}   queued ${state.status ? state.status.queue.length : '–'}   failovers ${state.gateway.failovers}`;
}

export function frame(state, c, columns) {
  const width = Math.max(70, Math.min(columns, 130));
  const { plan, status } = state;
  const { p50, p95 } = latencyPercentiles(state);
  const label = (text) => c.dim(pad(text, 10));
  const barWidth = Math.max(10, Math.min(30, width - 100));
  const lines = [
    `${c.bold('Exam burst')} through the Express gateway at ${c.cyan(`${state.publicUrl}/jobe`)}`,
    '',
    `${label('exam')}${bar(state.done / plan.total, Math.min(40, width - 56), c.cyan, c)}  ${c.bold(`${state.done}/${plan.total}`)} runs   ${elapsed(state)}   ${c.dim(`${state.started - state.done} awaiting an answer`)}`,
    `${label('outcomes')}${outcomeLine(state, c)}`,
    `${label('latency')}p50 ${ms(p50)}   p95 ${c.bold(ms(p95))}`,
    `${label('gateway')}${gatewayLine(state)}`,
    `${label('files')}${state.gateway.putsAtGateway} PUT by students, ${state.gateway.replays} replayed by the gateway itself`,
    '',
    c.dim(`  ${pad('server', 7)} ${pad('state', 11)} ${pad('share of the runs', barWidth + 15)}   workers`),
  ];
  const backends = status?.backends ?? [];
  const served = backends.map(servedBy);
  const total = served.reduce((sum, count) => sum + count, 0);
  for (const [index, backend] of backends.entries()) {
    const count = served[index] ?? 0;
    const share = total === 0 ? 0 : count / total;
    const paint = backend.health === 'ejected' ? c.red : c.blue;
    lines.push(
      `  ${c.bold(pad(backend.name, 7))} ${pad(backendState(backend, c), 11)} ${bar(share, barWidth, paint, c)} ${padStart(String(count), 4)} runs ${padStart(`${Math.round(share * 100)}%`, 4)}   ${workers(backend, c)}  ${backendNote(backend, state.sims[index], c)}`,
    );
  }
  if (state.statusError) lines.push(c.red(`  status: ${state.statusError}`));
  return lines;
}

/** One line per second when the output is not a terminal. */
export function progressLine(state) {
  const { ok, compile, runtime, overload, failed } = state.counts;
  const { p95 } = latencyPercentiles(state);
  const backends = (state.status?.backends ?? [])
    .map((backend) => `${backend.name} ${servedBy(backend)} ${backendWord(backend)}`)
    .join(', ');
  return `[${padStart(elapsed(state), 6)}] ${state.done}/${state.plan.total} runs · ok ${ok} · compile error ${compile} · runtime error ${runtime} · overload ${overload} · failed ${failed} · p95 ${ms(p95)} · queued ${state.status?.queue.length ?? '–'} · ${backends}`;
}

export function summary(state, c) {
  const { plan, status, gateway, counts } = state;
  const { p50, p95 } = latencyPercentiles(state);
  const label = (text) => c.dim(pad(text, 18));
  const served = status.backends.map((backend) => [backend.name, servedBy(backend)]);
  const total = served.reduce((sum, [, count]) => sum + count, 0);
  const share = served
    .map(
      ([name, count]) => `${c.bold(name)} ${count} (${total === 0 ? 0 : Math.round((count / total) * 100)}%)`,
    )
    .join(' · ');
  const byKey = (record) =>
    Object.entries(record)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, count]) => `${key} ${count}`)
      .join(', ');
  const zeroGood = (count) => (count === 0 ? c.green('0') : c.red(c.bold(String(count))));
  const lines = [
    c.bold('Summary'),
    `  ${label('runs')}${c.bold(String(state.done))} of ${plan.total} in ${elapsed(state)}: ok ${counts.ok}, compile errors ${counts.compile}, runtime errors ${counts.runtime}`,
    `  ${label('failed runs')}${zeroGood(counts.failed)}`,
    `  ${label('overload answers')}${zeroGood(counts.overload)}`,
    `  ${label('latency')}p50 ${ms(p50)} · p95 ${ms(p95)}  ${c.dim('(a whole CodeRunner exchange, run included)')}`,
    `  ${label('share')}${share}`,
    `  ${label('support files')}${state.puts} PUT by students · ${gateway.replays} replayed by the gateway${gateway.replays > 0 ? ` (${byKey(gateway.replaysByBackend)})` : ''}`,
    `  ${label('failovers')}${gateway.failovers}${gateway.failovers > 0 ? ` (${byKey(gateway.failoversByCause)})` : ''}  ${c.dim('runs the gateway sent again to another server')}`,
  ];
  if (gateway.putsAtGateway !== state.puts) {
    lines.push(
      c.yellow(`  the gateway counted ${gateway.putsAtGateway} PUTs where the students sent ${state.puts}`),
    );
  }
  for (const failure of state.failures.slice(0, 5)) lines.push(c.red(`  ✖ ${failure}`));
  return lines;
}
