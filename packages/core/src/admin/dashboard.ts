import { createHash } from 'node:crypto';

// The admin dashboard served at `<mount>/_balancer/`. It holds no data: it polls `status` (relative to its
// own URL, so it works under any mount point and behind proxies) with the token from `#token=` or the form.
// Self-contained on purpose (no CDN, no build step). Its script and style are files of their own, with the
// hash of their content in the name, so the page needs no inline code: it runs under a strict
// Content-Security-Policy (ours, or a host's helmet default, `script-src 'self'`), and the files can be
// cached for good. The script uses no backticks or backslashes, so these template literals are the files verbatim.

const DASHBOARD_CSS = `:root{--blue:#0072B2;--orange:#E69F00;--verm:#D55E00;--grey:#6E6E6E;--ink:#1b1f24;--muted:#57606a;
--bg:#f3f5f7;--card:#fff;--line:#d5dbe1;--font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 var(--font)}
header.top{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;justify-content:space-between;
padding:12px 24px;background:#1f2a37;color:#fff}
h1{font-size:20px;margin:0;font-weight:650;letter-spacing:.01em}
h1 small{font-weight:400;color:#c9d3de;font-size:15px;margin-left:8px}
.meta{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;font-size:14px;color:#dfe6ee}
.meta form{display:flex;gap:6px;align-items:center}
.meta input{font:inherit;padding:4px 8px;border:1px solid #8a99a8;border-radius:6px;width:200px;background:#fff;color:var(--ink)}
button{font:inherit;font-size:14px;padding:5px 12px;border-radius:6px;border:1px solid #8c959f;background:#fff;color:var(--ink);cursor:pointer}
button:hover:not(:disabled){background:#eef1f4}
button:disabled{cursor:default;opacity:.5}
button:focus-visible,input:focus-visible{outline:3px solid var(--blue);outline-offset:1px}
.meta button{padding:4px 10px}
main{padding:16px 24px 32px;max-width:2200px;margin:0 auto}
#banner:empty{display:none}
#banner{margin:0 0 14px;padding:10px 14px;border-radius:8px;border:2px solid var(--verm);background:#fbe9df;font-weight:600}
#banner.info{border-color:var(--blue);background:#e3f0f8}
main.stale #content{opacity:.65}
section{margin-bottom:20px}
h2{font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 8px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(165px,1fr));gap:10px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.tile .k{font-size:13px;color:var(--muted)}
.tile .v{font-size:21px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tile .s{font-size:13px;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-top:5px solid var(--c,var(--grey));border-radius:8px;
padding:12px 14px;display:flex;flex-direction:column;gap:8px;min-width:0}
.card h3{margin:0;font-size:18px;overflow-wrap:anywhere}
.card .head{display:flex;justify-content:space-between;align-items:flex-start;gap:8px}
.state{white-space:nowrap;flex:none;font-weight:650;font-size:14px;padding:2px 10px;border-radius:999px;border:2px solid var(--c,var(--grey));
background:color-mix(in srgb,var(--c,var(--grey)) 14%,#fff)}
.url{font:13px/1.3 ui-monospace,"DejaVu Sans Mono",monospace;color:var(--muted);overflow-wrap:anywhere}
.s-healthy{--c:var(--blue)}.s-drain{--c:var(--orange)}.s-down{--c:var(--verm)}.s-maint,.s-unknown{--c:var(--grey)}
.row{display:flex;justify-content:space-between;gap:8px;font-size:14px}
.num{font-variant-numeric:tabular-nums;font-weight:600}
.bar{position:relative;height:12px;border-radius:6px;background:#e6eaee;overflow:hidden;border:1px solid #c4ccd4}
.bar .fill{position:absolute;inset:0 auto 0 0;background:var(--blue)}
.bar .fill.full{background:var(--orange)}
.bar .lost{position:absolute;inset:0 0 0 auto;background:repeating-linear-gradient(45deg,#c4ccd4 0 3px,#eef1f4 3px 7px)}
.note{font-size:13px;color:var(--muted)}
dl{display:flex;flex-wrap:wrap;gap:2px 20px;margin:0;font-size:14px}
dl div{display:flex;gap:6px}dt{color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums;font-weight:600}
.bad{color:#a63d00;font-weight:650}
.langs{display:flex;flex-wrap:wrap;gap:4px}
.langs span{font:12px/1.6 ui-monospace,"DejaVu Sans Mono",monospace;background:#eef1f4;border:1px solid var(--line);border-radius:4px;padding:0 6px}
.err{margin:0;font-size:13px;padding:6px 8px;border-left:4px solid var(--verm);background:#fbefe8;overflow-wrap:anywhere}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin-top:auto;padding-top:4px}
.actions button[aria-pressed=true]{opacity:1;font-weight:700;background:#e3e8ed;border-color:#24292f;box-shadow:inset 0 0 0 1px #24292f}
.msg{margin:0;font-size:13px}.msg:empty{display:none}
.outcomes{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
.outcomes .tile .v{font-size:19px}
[hidden]{display:none!important}
`;

const DASHBOARD_JS = `(function () {
  'use strict';
  var KEY = 'jobe-balancer.token';
  var base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  var OUTCOMES = { 15: 'success', 11: 'compile error', 12: 'runtime error', 13: 'time limit', 17: 'memory limit',
    19: 'illegal syscall', 20: 'internal error', 21: 'overload', 0: 'success (V1)' };
  var ORDER = [15, 11, 12, 13, 21];
  var token = null, last = null, lastOk = 0, failure = null, authNeeded = false, cards = new Map();
  var $ = function (id) { return document.getElementById(id); };

  function store(t) { token = t || null; try { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); } catch (e) {} }
  try { token = sessionStorage.getItem(KEY); } catch (e) {}
  var fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) { store(fromHash); history.replaceState(null, '', location.pathname + location.search); }

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function int(n) { return Number(n || 0).toLocaleString('en-US'); }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + u[i];
  }
  function dur(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    var p = d ? [d + ' d', h + ' h'] : h ? [h + ' h', m + ' min'] : m ? [m + ' min', (s % 60) + ' s'] : [s + ' s'];
    return p.filter(function (x, i) { return i === 0 || x[0] !== '0'; }).join(' ');
  }
  function clock(t) { return new Date(t).toLocaleTimeString('en-GB'); }
  function pct(a, b) {
    if (!b) return '–';
    var p = (100 * a) / b;
    return (p === 0 ? '0' : p < 0.1 ? '<0.1' : p.toFixed(p < 10 ? 1 : 0)) + '%';
  }
  function stamp(iso) {
    var d = new Date(iso).toLocaleString('sv-SE');
    return d.slice(0, 10) === new Date().toLocaleString('sv-SE').slice(0, 10) ? d.slice(11, 16) : d.slice(0, 16);
  }
  function outcomeName(code) {
    return OUTCOMES[code] ? code + ' · ' + OUTCOMES[code] : Number(code) >= 100 ? 'HTTP ' + code + ' (gateway)' : 'outcome ' + code;
  }

  function stateOf(b) {
    if (b.adminState === 'maint') return { cls: 's-maint', icon: '▮▮', text: 'maintenance' };
    if (b.health === 'ejected') return { cls: 's-down', icon: '✕', text: 'down (ejected)' + (b.adminState === 'drain' ? ' · draining' : '') };
    if (b.adminState === 'drain') return { cls: 's-drain', icon: '◐', text: 'draining' };
    if (b.health === 'healthy') return { cls: 's-healthy', icon: '●', text: 'healthy' };
    return { cls: 's-unknown', icon: '?', text: 'unknown' };
  }

  function tile(parent, key, value, sub) {
    var t = el('div', 'tile');
    t.append(el('div', 'k', key), el('div', 'v', value));
    if (sub) t.append(el('div', 's', sub));
    parent.append(t);
    return t;
  }

  function makeCard(name) {
    var c = { root: el('article', 'card') };
    c.root.dataset.testid = 'backend-' + name;
    c.root.setAttribute('aria-label', 'Backend ' + name);
    var head = el('div', 'head');
    c.state = el('span', 'state');
    c.state.dataset.testid = 'state-' + name;
    head.append(el('h3', '', name), c.state);
    c.url = el('div', 'url');
    var capRow = el('div', 'row');
    c.cap = el('span', 'num');
    capRow.append(el('span', '', 'Runs in flight'), c.cap);
    c.bar = el('div', 'bar');
    c.bar.setAttribute('role', 'meter');
    c.bar.setAttribute('aria-label', 'Runs in flight on ' + name);
    c.fill = el('div', 'fill');
    c.lost = el('div', 'lost');
    c.bar.append(c.fill, c.lost);
    c.capNote = el('div', 'note');
    var errRow = el('div', 'row');
    c.errors = el('span', 'num');
    errRow.append(el('span', '', 'Errors in the last minute'), c.errors);
    var dl = el('dl');
    c.facts = {};
    [['runs', 'Runs answered'], ['ejections', 'Ejections'], ['weight', 'Weight']].forEach(function (f) {
      var pair = el('div');
      c.facts[f[0]] = el('dd');
      pair.append(el('dt', '', f[1]), c.facts[f[0]]);
      dl.append(pair);
    });
    c.langs = el('div', 'langs');
    c.err = el('p', 'err');
    c.actions = el('div', 'actions');
    c.actions.setAttribute('role', 'group');
    c.actions.setAttribute('aria-label', 'Admin state of ' + name);
    c.buttons = {};
    [['drain', 'Drain', 'Finish the runs in flight, send no new jobs'], ['ready', 'Ready', 'Send new jobs again'],
      ['maint', 'Maint', 'Maintenance: send it nothing']].forEach(function (a) {
      var b = el('button', '', a[1]);
      b.type = 'button';
      b.dataset.testid = a[0] + '-' + name;
      b.title = a[2];
      b.setAttribute('aria-label', a[1] + ' ' + name);
      b.addEventListener('click', function () { act(name, a[0], c); });
      c.buttons[a[0]] = b;
      c.actions.append(b);
    });
    c.msg = el('p', 'msg');
    c.msg.setAttribute('aria-live', 'polite');
    c.root.append(head, c.url, capRow, c.bar, c.capNote, errRow, dl, c.langs, c.err, c.actions, c.msg);
    return c;
  }

  function updateCard(c, b, admin) {
    var s = stateOf(b);
    c.root.className = 'card ' + s.cls;
    var icon = el('span', '', s.icon + ' ');
    icon.setAttribute('aria-hidden', 'true');
    c.state.replaceChildren(icon, s.text);
    c.url.textContent = b.url;
    var eff = Math.min(b.effectiveCapacity, b.capacity), capa = Math.max(b.capacity, 1);
    c.cap.textContent = b.inFlight + ' / ' + eff;
    c.fill.style.width = Math.min(100, (100 * b.inFlight) / capa) + '%';
    c.fill.classList.toggle('full', b.inFlight >= eff);
    c.lost.style.width = (100 * (capa - eff)) / capa + '%';
    c.bar.setAttribute('aria-valuemin', '0');
    c.bar.setAttribute('aria-valuemax', String(eff));
    c.bar.setAttribute('aria-valuenow', String(b.inFlight));
    c.capNote.textContent = b.adminState === 'drain' && b.inFlight === 0 ? 'Drained: nothing in flight, safe to patch'
      : b.health === 'ejected' ? 'Ejected: gets no jobs until a health check passes'
      : eff < b.capacity ? 'Effective capacity ' + eff + ' of ' + b.capacity + ' (lowered after overload, or slow start)'
      : 'Capacity ' + b.capacity;
    var r = b.recent || { requests: 0, errors: 0 };
    c.errors.textContent = r.requests ? pct(r.errors, r.requests) + ' · ' + int(r.errors) + ' of ' + int(r.requests) : 'no requests';
    c.errors.className = r.errors ? 'num bad' : 'num';
    var runs = 0;
    Object.keys(b.outcomes || {}).forEach(function (k) { runs += b.outcomes[k]; });
    c.facts.runs.textContent = int(runs);
    c.facts.ejections.textContent = int(b.ejections);
    c.facts.weight.textContent = String(b.weight);
    c.langs.replaceChildren.apply(c.langs, b.languages.length
      ? b.languages.map(function (l) { var e = el('span', '', l[0]); e.title = l[0] + ' ' + l[1]; return e; })
      : [el('em', 'note', 'no languages known yet')]);
    var down = b.health === 'ejected';
    c.err.hidden = !down;
    if (down) c.err.textContent = 'Last error: ' + (b.lastError || 'unknown') +
      (b.ejectedUntil ? ' · next try ' + (Date.parse(b.ejectedUntil) > Date.now() ? 'in ' + dur(Date.parse(b.ejectedUntil) - Date.now() + 999) : 'now') : '');
    c.actions.hidden = !admin;
    Object.keys(c.buttons).forEach(function (k) {
      var btn = c.buttons[k], cur = b.adminState === k;
      btn.setAttribute('aria-pressed', String(cur));
      btn.disabled = cur || c.busy === true;
    });
  }

  function render(st) {
    var now = Date.now(), admin = !!token && st.adminEnabled, bs = st.backends;
    var serving = bs.filter(function (b) { return b.adminState === 'ready' && b.health !== 'ejected'; }).length;
    var inflight = 0, effective = 0, req = 0, errs = 0;
    bs.forEach(function (b) {
      inflight += b.inFlight; req += b.recent.requests; errs += b.recent.errors;
      if (b.adminState === 'ready' && b.health !== 'ejected') effective += b.effectiveCapacity;
    });
    var ov = $('overview');
    ov.replaceChildren();
    tile(ov, 'Backends serving', serving + ' / ' + bs.length, bs.length - serving ? bs.length - serving + ' out of rotation' : 'all in rotation');
    tile(ov, 'Runs in flight', inflight + ' / ' + effective, 'capacity in rotation');
    tile(ov, 'Queue', int(st.queue.length) + ' / ' + int(st.queue.maxLength), 'waiting; timeout ' + dur(st.queue.timeoutMs));
    tile(ov, 'Errors (last min)', pct(errs, req), int(errs) + ' of ' + int(req) + ' requests');
    tile(ov, 'File store', int(st.fileStore.entries) + ' files', bytes(st.fileStore.bytes) + ' of ' + bytes(st.fileStore.maxBytes));
    tile(ov, 'Affinity bindings', int(st.affinityBindings), 'job ids pinned');
    tile(ov, 'Uptime', dur(now - Date.parse(st.startedAt)), 'since ' + stamp(st.startedAt));

    var ro = $('readonly');
    ro.hidden = admin;
    ro.textContent = !st.adminEnabled ? 'Read-only: admin actions are off (no admin token is configured on the balancer).'
      : 'Read-only: enter the admin token above to drain, resume or put backends into maintenance.';

    var box = $('cards'), seen = new Set();
    bs.forEach(function (b, i) {
      seen.add(b.name);
      var c = cards.get(b.name);
      if (!c) { c = makeCard(b.name); cards.set(b.name, c); }
      updateCard(c, b, admin);
      if (box.children[i] !== c.root) box.insertBefore(c.root, box.children[i] || null);
    });
    cards.forEach(function (c, name) { if (!seen.has(name)) { c.root.remove(); cards.delete(name); } });

    var oc = $('outcomes'), total = 0, codes = Object.keys(st.outcomes);
    codes.forEach(function (k) { total += st.outcomes[k]; });
    codes = ORDER.map(String).concat(codes.filter(function (k) { return ORDER.indexOf(Number(k)) < 0; }).sort(function (a, b) { return a - b; }));
    oc.replaceChildren();
    codes.forEach(function (k) {
      var n = st.outcomes[k] || 0;
      tile(oc, outcomeName(k), int(n), total ? pct(n, total) + ' of ' + int(total) : 'no runs yet').dataset.testid = 'outcome-' + k;
    });
  }

  function headers() { return token ? { Authorization: 'Bearer ' + token } : {}; }

  function showBanner(text, info) { var b = $('banner'); b.textContent = text; b.className = info ? 'info' : ''; }

  function paint() {
    var stale = failure !== null;
    $('main').classList.toggle('stale', stale && !!last);
    $('updated').textContent = authNeeded ? 'Locked' : lastOk
      ? 'Updated ' + clock(lastOk) + (stale ? ' (' + dur(Date.now() - lastOk) + ' ago)' : '') : 'Connecting…';
    $('tokenForm').hidden = !!token && !authNeeded;
    $('tokenSet').hidden = !token || authNeeded;
    if (authNeeded) {
      showBanner(token ? 'The admin token was rejected. Paste the right one above.'
        : 'The balancer status needs the admin token. Paste it above, or open this page as …/_balancer/#token=YOUR_TOKEN.', true);
    } else if (stale) {
      showBanner('Offline: cannot reach the balancer (' + failure + '). ' +
        (last ? 'Showing stale data from ' + clock(lastOk) + '. ' : '') + 'Retrying every second.');
    } else showBanner('');
    $('content').hidden = !last || authNeeded;
  }

  async function poll() {
    try {
      var res = await fetch(base + 'status', { headers: headers(), cache: 'no-store', signal: AbortSignal.timeout(4000) });
      if (res.status === 401 || res.status === 403) { authNeeded = true; failure = null; last = null; }
      else if (!res.ok) failure = 'HTTP ' + res.status;
      else { last = await res.json(); lastOk = Date.now(); failure = null; authNeeded = false; render(last); }
    } catch (e) {
      failure = e && e.name === 'TimeoutError' ? 'timed out' : 'network error';
    }
    paint();
  }

  async function act(name, action, c) {
    c.busy = true;
    Object.keys(c.buttons).forEach(function (k) { c.buttons[k].disabled = true; });
    c.msg.textContent = '';
    try {
      var res = await fetch(base + 'backends/' + encodeURIComponent(name) + '/' + action, { method: 'POST', headers: headers() });
      var body = await res.json().catch(function () { return null; });
      if (!res.ok) throw new Error(typeof body === 'string' ? body : 'HTTP ' + res.status);
      if (last && body && body.name === name) {
        last.backends = last.backends.map(function (b) { return b.name === name ? body : b; });
      }
    } catch (e) {
      c.msg.textContent = 'Could not ' + action + ' ' + name + ': ' + e.message;
    }
    c.busy = false;
    if (last) render(last);
    poll();
  }

  $('tokenForm').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = $('tokenInput').value.trim();
    $('tokenInput').value = '';
    if (v) { store(v); authNeeded = false; poll(); }
  });
  $('forget').addEventListener('click', function () { store(null); if (last) render(last); poll(); });

  (function loop() { poll().finally(function () { setTimeout(loop, 1000); }); })();
})();
`;

export interface DashboardAsset {
  /** File name under `<mount>/_balancer/`, e.g. `dashboard.1a2b3c4d5e6f.js`. */
  name: string;
  contentType: string;
  body: string;
}

function asset(body: string, extension: 'js' | 'css', contentType: string): DashboardAsset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { name: `dashboard.${hash}.${extension}`, contentType, body };
}

export const DASHBOARD_ASSETS: readonly DashboardAsset[] = [
  asset(DASHBOARD_JS, 'js', 'text/javascript; charset=utf-8'),
  asset(DASHBOARD_CSS, 'css', 'text/css; charset=utf-8'),
];

const [script, style] = DASHBOARD_ASSETS;

export const DASHBOARD_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>jobe-balancer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${style?.name}">
</head>
<body>
<header class="top">
<h1>jobe-balancer <small>admin dashboard</small></h1>
<div class="meta">
<span id="updated" aria-live="off">Connecting…</span>
<form id="tokenForm" autocomplete="off">
<label for="tokenInput">Admin token</label>
<input id="tokenInput" type="password" spellcheck="false" placeholder="paste token">
<button type="submit">Use</button>
</form>
<span id="tokenSet" hidden>Token set <button type="button" id="forget">Forget</button></span>
</div>
</header>
<main id="main">
<div id="banner" role="status" aria-live="polite"></div>
<div id="content" hidden>
<section aria-labelledby="h-overview"><h2 id="h-overview">Overview</h2><div class="tiles" id="overview"></div></section>
<section aria-labelledby="h-backends"><h2 id="h-backends">Backends</h2><p class="note" id="readonly" hidden></p>
<div class="cards" id="cards"></div></section>
<section aria-labelledby="h-outcomes"><h2 id="h-outcomes">Runs answered, by outcome</h2><div class="outcomes" id="outcomes"></div></section>
</div>
</main>
<script src="${script?.name}"></script>
</body>
</html>
`;
