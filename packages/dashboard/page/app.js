// The tunnelmux dashboard page: plain DOM, no build step, nothing loaded from elsewhere. It reads the status
// from the API, follows the event stream (SSE) and redraws; the token lives in an HttpOnly cookie.

// The token has done its job (the cookie is set): take it out of the address bar and the history.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);

const CHART_WINDOW_MS = 5 * 60_000;
const TIMELINE_MAX = 300;
// Events that change what the status shows: each one triggers a fresh read of the status.
const REFRESH_ON = new Set([
  'state-change',
  'connected',
  'disconnected',
  'reconnecting',
  'primary-change',
  'failover',
  'no-healthy-path',
  'healthy-path-restored',
  'public-url',
  'session-resumed',
  'session-lost',
  'metrics',
  'error',
]);
const QUIET = new Set(['probe', 'metrics']);

const $ = (id) => document.getElementById(id);
const state = {
  status: undefined,
  latency: new Map(),
  cards: new Map(),
  refreshing: undefined,
  again: false,
};

/** One element, with attributes and children; text is always text, never HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// ---- API ----------------------------------------------------------------------------------------------------

async function api(path, init) {
  const response = await fetch(`/api/v1/${path}`, {
    credentials: 'same-origin',
    ...init,
    headers: { 'Content-Type': 'application/json', ...init?.headers },
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

function refresh() {
  if (state.refreshing) {
    state.again = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    try {
      do {
        state.again = false;
        state.status = await api('status');
        render();
      } while (state.again);
      hideBanner();
    } catch (error) {
      showBanner(error.message);
    } finally {
      state.refreshing = undefined;
    }
  })();
  return state.refreshing;
}

async function act(what, path, body) {
  try {
    await api(path, { method: 'POST', body: JSON.stringify(body ?? {}) });
    hideBanner();
  } catch (error) {
    showBanner(`${what}: ${error.message}`);
  }
  await refresh();
}

function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

// ---- confirmation -------------------------------------------------------------------------------------------

function confirmAction(title, text) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = title;
  return new Promise((resolve) => {
    const finish = (ok) => {
      $('confirm-ok').onclick = null;
      $('confirm-cancel').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    $('confirm-ok').onclick = () => finish(true);
    $('confirm-cancel').onclick = () => finish(false);
    dialog.onclose = () => finish(false);
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

// ---- rendering ----------------------------------------------------------------------------------------------

function servicesOf(status) {
  if (Array.isArray(status?.services)) return status.services;
  return [{ ...status, name: 'default' }];
}

function render() {
  const root = $('services');
  // Redrawing replaces the buttons: keep the keyboard focus on the same control.
  const focused = root.contains(document.activeElement)
    ? document.activeElement.getAttribute('aria-label')
    : null;
  const seen = new Set();
  for (const service of servicesOf(state.status)) {
    seen.add(service.name);
    let section = root.querySelector(`section[data-service="${CSS.escape(service.name)}"]`);
    if (!section) {
      section = h('section', { class: 'panel', 'data-service': service.name });
      root.append(section);
    }
    section.replaceChildren(...serviceView(service));
  }
  for (const section of root.querySelectorAll('section[data-service]'))
    if (!seen.has(section.dataset.service)) section.remove();
  if (focused) root.querySelector(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
  drawCharts();
}

function serviceView(service) {
  const paths = [...(service.paths ?? [])].sort((a, b) => a.priority - b.priority);
  const up = paths.filter((p) => p.state === 'connected').length;
  const canFailOver = paths.some((p) => p.state === 'connected' && !p.primary);
  const base = `services/${encodeURIComponent(service.name)}`;
  const head = h(
    'div',
    { class: 'service-head' },
    h('div', {}, h('h2', {}, `Service ${service.name}`), summary(service, up, paths.length)),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          disabled: !canFailOver,
          'aria-label': `Fail over service ${service.name} to the next connected path`,
          onclick: async () => {
            if (
              await confirmAction(
                'Fail over',
                `Move service ${service.name} off ${service.primary ?? 'its primary'} to the next connected path?`,
              )
            )
              await act('fail over', `${base}/failover`, {});
          },
        },
        'Fail over',
      ),
      service.pinned
        ? h(
            'button',
            {
              type: 'button',
              'aria-label': `Clear the pinned primary of service ${service.name}`,
              onclick: async () => {
                if (
                  await confirmAction(
                    'Clear pin',
                    `Let service ${service.name} choose its primary by priority again?`,
                  )
                )
                  await act('clear the pin', `${base}/primary`, { id: null });
              },
            },
            'Clear pin',
          )
        : undefined,
    ),
  );
  const cards = h(
    'div',
    { class: 'paths' },
    paths.map((p) => pathView(service, p, base)),
  );
  const parts = [head, cards];
  if (Array.isArray(service.sessions)) parts.push(sessionsView(service.sessions));
  return parts;
}

function summary(service, up, total) {
  return h(
    'p',
    { class: 'summary' },
    `${up}/${total} paths up · primary `,
    h('strong', { 'data-role': 'primary' }, service.primary ?? 'none'),
    service.pinned ? ' (pinned)' : '',
    service.autoFailover === false ? ' · automatic failover off' : '',
    service.degraded ? h('span', { class: 'degraded' }, ' · no healthy path') : '',
  );
}

function pathView(service, p, base) {
  const key = `${service.name}/${p.id}`;
  const canvas = state.cards.get(key) ?? h('canvas', { class: 'chart', role: 'img' });
  canvas.setAttribute('aria-label', `Latency of ${p.id} over the last 5 minutes`);
  canvas.dataset.key = key;
  state.cards.set(key, canvas);
  const latency = p.latency ?? {};
  return h(
    'article',
    {
      class: `path${p.primary ? ' is-primary' : ''}`,
      'data-path': p.id,
      'data-state': p.state,
      'data-primary': String(Boolean(p.primary)),
      'aria-label': `path ${p.id}, ${p.state}${p.primary ? ', primary' : ''}`,
    },
    h(
      'div',
      { class: 'path-head' },
      h('h3', {}, p.id),
      h('span', { class: 'provider' }, `${p.provider} · priority ${p.priority}`),
      h('span', { class: `badge ${p.state}`, 'data-role': 'state' }, p.state),
      p.primary
        ? h(
            'span',
            { class: 'badge primary', 'data-role': 'primary-badge' },
            p.pinned ? 'primary (pinned)' : 'primary',
          )
        : undefined,
    ),
    canvas,
    h(
      'dl',
      { class: 'facts' },
      fact('latency', latency.last !== undefined ? ms(latency.last) : '–'),
      fact('p50 / p95', latency.p50 !== undefined ? `${ms(latency.p50)} / ${ms(latency.p95)}` : '–'),
      fact('up for', p.state === 'connected' ? duration(p.uptimeMs) : '–'),
      fact('in / out', `${bytes(p.bytesIn)} / ${bytes(p.bytesOut)}`),
      fact('connections', `${p.activeConnections} open · ${p.totalConnections} total`),
      fact('restarts', `${p.restarts}${p.failedDials ? ` · ${p.failedDials} failed dials` : ''}`),
    ),
    p.lastError
      ? h('p', { class: 'error', 'data-role': 'last-error' }, `Last error: ${p.lastError}`)
      : undefined,
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          disabled: p.primary || p.state !== 'connected',
          'aria-label': `Make ${p.id} primary`,
          'data-action': 'make-primary',
          onclick: async () => {
            if (
              await confirmAction(
                'Make primary',
                `Pin ${p.id} as the primary of service ${service.name}? New connections go through it.`,
              )
            )
              await act(`make ${p.id} primary`, `${base}/primary`, { id: p.id });
          },
        },
        'Make primary',
      ),
      h(
        'button',
        {
          type: 'button',
          'aria-label': `Restart ${p.id}`,
          'data-action': 'restart',
          onclick: async () => {
            if (await confirmAction('Restart', `Close and reopen ${p.id}? Connections it carries are cut.`))
              await act(`restart ${p.id}`, `${base}/paths/${encodeURIComponent(p.id)}/restart`);
          },
        },
        'Restart',
      ),
    ),
  );
}

function fact(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function sessionsView(sessions) {
  const rows = sessions.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, s.session),
      h('td', {}, s.client),
      h('td', {}, s.path ?? '–'),
      h('td', {}, s.attached ? 'attached' : 'resuming'),
      h('td', {}, String(s.resumes)),
      h('td', {}, `${bytes(s.bytesIn)} / ${bytes(s.bytesOut)}`),
      h('td', {}, duration(Date.now() - s.openedAt)),
    ),
  );
  return h(
    'div',
    { class: 'scroll' },
    h('h3', {}, `Live sessions (${sessions.length})`),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['session', 'client', 'path', 'state', 'resumes', 'in / out', 'age'].map((t) => h('th', {}, t)),
        ),
      ),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 7 }, 'no live session'))),
    ),
  );
}

// ---- latency charts -----------------------------------------------------------------------------------------

function recordProbe(event) {
  const key = `${event.service ?? 'default'}/${event.pathId}`;
  const series = state.latency.get(key) ?? [];
  series.push({ t: event.time, v: event.ok ? event.latencyMs : undefined });
  const cutoff = Date.now() - CHART_WINDOW_MS;
  while (series.length && series[0].t < cutoff) series.shift();
  state.latency.set(key, series);
}

let drawPending = false;
function drawCharts() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    for (const [key, canvas] of state.cards)
      if (canvas.isConnected) drawChart(canvas, state.latency.get(key) ?? []);
  });
}

function drawChart(canvas, series) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  const css = getComputedStyle(document.documentElement);
  const now = Date.now();
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = css.getPropertyValue('--muted');
  if (series.length === 0) {
    ctx.fillText('no probe yet', 4, 12);
    return;
  }
  // The window grows with the data up to 5 minutes, so a fresh page already draws a full-width line.
  const start = Math.max(now - CHART_WINDOW_MS, Math.min(series[0].t, now - 30_000));
  const x = (t) => ((t - start) / (now - start)) * width;
  const values = series.filter((s) => s.v !== undefined).map((s) => s.v);
  const max = Math.max(1, ...values) * 1.15;
  const y = (v) => height - 4 - (v / max) * (height - 16);
  const span = Math.round((now - start) / 1000);
  ctx.fillText(
    `latency · last ${span < 120 ? `${span}s` : `${Math.round(span / 60)} min`} · max ${ms(max / 1.15)}`,
    4,
    12,
  );
  // Failed probes: a red tick at the bottom.
  ctx.fillStyle = css.getPropertyValue('--bad');
  for (const s of series) if (s.v === undefined) ctx.fillRect(x(s.t) - 1, height - 8, 2, 8);
  const points = series.filter((s) => s.v !== undefined);
  if (points.length < 2) return;
  ctx.beginPath();
  ctx.moveTo(x(points[0].t), height);
  for (const s of points) ctx.lineTo(x(s.t), y(s.v));
  ctx.lineTo(x(points.at(-1).t), height);
  ctx.closePath();
  ctx.fillStyle = css.getPropertyValue('--chart-fill');
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(x(points[0].t), y(points[0].v));
  for (const s of points.slice(1)) ctx.lineTo(x(s.t), y(s.v));
  ctx.strokeStyle = css.getPropertyValue('--chart');
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

// ---- event timeline -----------------------------------------------------------------------------------------

function describe(e) {
  const who = e.pathId ? `${e.pathId}: ` : '';
  switch (e.type) {
    case 'state-change':
      return [
        `${who}${e.from} → ${e.to}`,
        e.reason,
        e.to === 'connected' ? 'good' : e.to === 'failed' ? 'bad' : 'warn',
      ];
    case 'connected':
      return [`${who}connected at ${e.endpoint}`, undefined, 'good'];
    case 'disconnected':
      return [`${who}disconnected`, e.reason, 'bad'];
    case 'reconnecting':
      return [`${who}reconnecting (attempt ${e.attempt}) in ${ms(e.delayMs)}`, e.reason, 'warn'];
    case 'failover':
      return [`failover ${e.from} → ${e.to ?? 'none'}`, e.reason, 'bad'];
    case 'primary-change':
      return [`primary ${e.from ?? 'none'} → ${e.to ?? 'none'}`, e.reason, 'warn'];
    case 'no-healthy-path':
      return [`no healthy path (${e.paths} paths down)`, undefined, 'bad'];
    case 'healthy-path-restored':
      return [`${e.pathId} healthy again after ${duration(e.downForMs)}`, undefined, 'good'];
    case 'dial-failed':
      return [`${who}a dial failed`, e.reason, 'bad'];
    case 'public-url':
      return [`${who}public address ${e.publicUrl}`, undefined, 'good'];
    case 'connection-refused':
      return [`refused a client${e.client ? ` from ${e.client}` : ''}`, e.reason, 'bad'];
    case 'session-resumed':
      return [
        `session ${e.session} resumed ${e.from ?? '?'} → ${e.to ?? '?'} after ${ms(e.stallMs)}`,
        undefined,
        'good',
      ];
    case 'session-lost':
      return [`session ${e.session} lost (${e.reason})`, e.message, 'bad'];
    case 'warning':
      return ['warning', e.message, 'warn'];
    case 'error':
      return [`${who}error${e.fatal ? ' (fatal)' : ''}`, e.message, 'bad'];
    case 'log':
      return [`${who}${e.level}`, e.message, e.level === 'error' ? 'bad' : 'warn'];
    default:
      return [e.type, undefined, ''];
  }
}

function addTimeline(event, id) {
  const [title, detail, tone] = describe(event);
  const service = event.service && event.service !== 'default' ? `[${event.service}] ` : '';
  const item = h(
    'li',
    { 'data-type': event.type, 'data-id': id },
    h('time', { datetime: new Date(event.time).toISOString() }, new Date(event.time).toLocaleTimeString()),
    h('span', { class: `kind ${tone}` }, event.type),
    h('span', { class: 'text' }, `${service}${title}${detail ? ` — ${detail}` : ''}`),
  );
  const list = $('timeline');
  list.prepend(item);
  while (list.children.length > TIMELINE_MAX) list.lastElementChild.remove();
}

// ---- live updates -------------------------------------------------------------------------------------------

function setLive(text, tone) {
  $('live').textContent = text;
  $('live').className = `live ${tone}`;
}

let refreshTimer;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 30);
}

function connect() {
  // EventSource reconnects by itself and sends Last-Event-ID, so the server replays what was missed.
  const source = new EventSource('/api/v1/events?recent=500');
  source.onopen = () => {
    setLive('live', 'on');
    refresh();
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setLive('disconnected: reload the page', 'off');
      showBanner(
        'The event stream was refused; reload the page (or open the address `tunnelmux dashboard` prints).',
      );
    } else setLive('reconnecting…', 'off');
  };
  source.addEventListener('gap', (message) => {
    const gap = JSON.parse(message.data);
    addTimeline({ type: 'warning', time: Date.now(), message: gap.message }, 'gap');
    scheduleRefresh();
  });
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === 'probe') {
      recordProbe(event);
      drawCharts();
    }
    if (!QUIET.has(event.type) && !(event.type === 'log' && event.level === 'debug'))
      addTimeline(event, message.lastEventId);
    if (REFRESH_ON.has(event.type)) scheduleRefresh();
  };
}

async function loadAvailability() {
  const response = await fetch('/api/v1/report', { credentials: 'same-origin' }).catch(() => undefined);
  if (!response?.ok) return;
  const report = await response.json().catch(() => undefined);
  const days = Array.isArray(report?.days) ? report.days : [];
  if (!days.length) return;
  const paths = [...new Set(days.map((d) => d.path ?? d.service ?? 'all'))];
  const byDay = new Map();
  for (const d of days) {
    const row = byDay.get(d.day) ?? new Map();
    row.set(d.path ?? d.service ?? 'all', d.availability);
    byDay.set(d.day, row);
  }
  const pct = (v) => (typeof v !== 'number' ? '–' : `${(v <= 1 ? v * 100 : v).toFixed(2)}%`);
  $('availability-table').replaceChildren(
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'day'),
        paths.map((p) => h('th', {}, p)),
      ),
    ),
    h(
      'tbody',
      {},
      [...byDay].map(([day, row]) =>
        h(
          'tr',
          {},
          h('td', {}, day),
          paths.map((p) => h('td', {}, pct(row.get(p)))),
        ),
      ),
    ),
  );
  $('availability').hidden = false;
}

// ---- formatting ---------------------------------------------------------------------------------------------

function ms(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function bytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${units[i]}`;
}

function duration(millis) {
  const s = Math.max(0, Math.round(millis / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

window.addEventListener('resize', drawCharts);
setInterval(drawCharts, 2000);
refresh();
connect();
loadAvailability();
