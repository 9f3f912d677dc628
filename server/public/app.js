// cardlab's review page: deck list, review screen with live demos, stats. Plain JavaScript served as
// is (no build step); talks to the JSON API. Card HTML comes rendered and escaped from the server;
// everything else is put in with textContent.

const view = document.getElementById('view');
const GRADES = ['Again', 'Hard', 'Good', 'Easy'];

/** Element helper: h('div', { class: 'x', onclick }, child, 'text'). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: options.method === 'POST' ? { 'Content-Type': 'application/json' } : {},
    body: options.method === 'POST' ? (options.body ?? '{}') : undefined,
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

function formatInterval(days) {
  if (days === undefined || days === null) return '';
  if (days < 1) return '<1d';
  if (days < 30) return `${Math.round(days)}d`;
  if (days < 365) return `${(days / 30).toFixed(1)}mo`;
  return `${(days / 365).toFixed(1)}y`;
}

function showError(err) {
  view.replaceChildren(h('div', { class: 'notice error' }, String(err.message ?? err)));
}

// ---------------------------------------------------------------------------------------------
// plotly.js is large: loaded on first use, from this server.

let plotlyLoading = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  plotlyLoading ??= new Promise((resolve, reject) => {
    const script = h('script', { src: '/vendor/plotly.min.js' });
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error('could not load plotly.js'));
    document.head.append(script);
  });
  return plotlyLoading;
}

/** plotly.js 3+ takes titles only as `{ text }`; notebooks (and older plotly) often give a string. */
function withTitleObjects(layout) {
  const out = { ...layout };
  const fix = (o) => (o && typeof o.title === 'string' ? { ...o, title: { text: o.title } } : o);
  Object.assign(out, fix(out));
  for (const axis of Object.keys(out).filter((k) => /^[xyz]axis\d*$/.test(k))) out[axis] = fix(out[axis]);
  return out;
}

async function plot(el, figure) {
  const Plotly = await loadPlotly();
  const layout = withTitleObjects({ margin: { t: 50, r: 20, l: 50 }, ...(figure.layout ?? {}) });
  await Plotly.newPlot(el, figure.data ?? [], layout, {
    responsive: true,
    displaylogo: false,
    ...(figure.config ?? {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Deck list

async function showDecks() {
  const decks = await api('/api/decks');
  if (decks.length === 0) {
    view.replaceChildren(h('p', { class: 'muted' }, 'No decks: put markdown files tagged #flashcards in the cards folder.'));
    return;
  }
  const rows = decks.map((d) =>
    h(
      'tr',
      { 'data-deck': d.id },
      h('td', {}, d.error ? h('span', {}, d.name) : h('a', { href: `#/review/${encodeURIComponent(d.id)}` }, d.name),
        d.error ? h('div', { class: 'error' }, d.error) : null),
      h('td', { class: 'n due' }, d.counts.due),
      h('td', { class: 'n new' }, d.counts.new),
      h('td', { class: 'n' }, d.counts.total),
      h('td', { class: 'n' }, d.session.due + d.session.new + d.session.again),
      h('td', {}, d.error ? '' : h('a', { href: `#/stats/${encodeURIComponent(d.id)}` }, 'stats')),
    ),
  );
  view.replaceChildren(
    h('h1', {}, 'Decks'),
    h('table', { class: 'decks' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Deck'), h('th', {}, 'Due'), h('th', {}, 'New'), h('th', {}, 'Total'), h('th', {}, 'Today'), h('th', {}))),
      h('tbody', {}, rows)),
  );
}

// ---------------------------------------------------------------------------------------------
// Review

let keyHandler = null;
function onKeys(handler) {
  if (keyHandler) document.removeEventListener('keydown', keyHandler);
  keyHandler = handler;
  if (handler) document.addEventListener('keydown', handler);
}

async function showReview(deckId, notice) {
  const { card, remaining, error } = await api(`/api/decks/${encodeURIComponent(deckId)}/next`);
  const undo = h('button', { class: 'undo', onclick: () => undoLast(deckId) }, 'Undo last grade');
  const bar = h('div', { class: 'bar' }, h('a', { href: '#/' }, '← Decks'), h('span', { class: 'muted remaining' }, `${remaining} left today`), undo);
  if (error) {
    view.replaceChildren(bar, h('div', { class: 'notice error' }, error));
    return;
  }
  if (!card) {
    onKeys(null);
    view.replaceChildren(bar, notice ?? '', h('div', { class: 'done' }, h('h2', {}, 'Done for today'), h('p', { class: 'muted' }, 'Nothing due in this deck right now.')));
    return;
  }
  const front = h('div', { class: 'front' });
  front.innerHTML = card.front; // rendered and escaped by the server
  const back = h('div', { class: 'back', hidden: true });
  back.innerHTML = card.back;
  const separator = h('hr', { hidden: true });
  const reveal = h('button', { class: 'primary reveal', onclick: () => doReveal() }, 'Show answer ', h('kbd', {}, 'space'));
  const gradeButtons = GRADES.map((grade, i) =>
    h('button', { class: grade, 'data-grade': grade, onclick: () => doGrade(grade) },
      h('span', {}, grade), h('small', {}, formatInterval(card.intervals?.[grade]?.interval)), h('kbd', {}, String(i + 1))),
  );
  const grades = h('div', { class: 'actions grades', hidden: true }, gradeButtons);
  let revealed = false;
  let busy = false;
  function doReveal() {
    revealed = true;
    back.hidden = false;
    separator.hidden = false;
    reveal.hidden = true;
    grades.hidden = false;
  }
  async function doGrade(grade) {
    if (busy || !revealed) return;
    busy = true;
    gradeButtons.forEach((b) => (b.disabled = true));
    try {
      const result = await api('/api/review', { method: 'POST', body: JSON.stringify({ cardId: card.id, grade }) });
      await showReview(deckId, h('p', { class: 'muted last-grade' }, `${grade}: next review ${result.schedule.due.slice(0, 10)}`));
    } catch (err) {
      busy = false;
      gradeButtons.forEach((b) => (b.disabled = false));
      view.prepend(h('div', { class: 'notice error' }, err.message));
    }
  }
  onKeys((event) => {
    if (event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement) return;
    if (event.key === ' ' && !revealed) {
      event.preventDefault();
      doReveal();
    } else if (revealed && ['1', '2', '3', '4'].includes(event.key)) {
      event.preventDefault();
      doGrade(GRADES[Number(event.key) - 1]);
    }
  });
  const context = h('nav', { class: 'context' }, card.context.map((c) => h('span', {}, c)));
  view.replaceChildren(
    bar,
    notice ?? '',
    context,
    (card.problems ?? []).map((p) => h('div', { class: 'notice card-problem' }, p)),
    h('article', { class: 'card', 'data-card': card.id }, front, separator, back),
    h('div', { class: 'actions' }, reveal),
    grades,
    demos(card.cells),
  );
}

async function undoLast(deckId) {
  try {
    const result = await api('/api/review/undo', { method: 'POST' });
    await showReview(deckId, h('p', { class: 'muted' }, `Undid ${result.grade}.`));
  } catch (err) {
    view.prepend(h('div', { class: 'notice error' }, err.message));
  }
}

// ---------------------------------------------------------------------------------------------
// Live demos: the card's linked notebook cells, editable, run on the server, outputs streamed.

function demos(cells) {
  if (!cells || cells.length === 0) return '';
  return h('section', { class: 'demos' }, h('h2', {}, 'Live demos'), cells.map((cell, i) => demo(cell, i === 0)));
}

/** One demo: header with Run, its code (open for the first demo only), then its outputs. */
function demo(cell, open) {
  const code = h('textarea', { spellcheck: 'false', 'aria-label': `code of ${cell.id}` });
  code.value = cell.code;
  code.rows = Math.min(20, cell.code.split('\n').length + 1);
  const outputs = h('div', { class: 'outputs' });
  const status = h('span', { class: 'status' });
  const run = h('button', { class: 'primary run', onclick: () => runDemo() }, 'Run');
  const reset = h('button', { class: 'reset', title: 'back to the notebook\'s code', onclick: () => (code.value = cell.code) }, 'Reset');
  async function runDemo() {
    run.disabled = true;
    outputs.replaceChildren();
    status.textContent = 'starting…';
    try {
      const res = await fetch(`/api/cells/${encodeURIComponent(cell.id)}/run`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: code.value }),
      });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let pending = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line) showEvent(JSON.parse(line), outputs, status);
        }
      }
    } catch (err) {
      status.textContent = '';
      outputs.append(h('pre', { class: 'error' }, err.message));
    } finally {
      run.disabled = false;
    }
  }
  return h(
    'div',
    { class: 'demo', 'data-cell': cell.id },
    h('header', {}, h('span', {}, `${cell.notebook} · cell ${cell.index}`), h('span', {}, status, ' ', reset, ' ', run)),
    h('details', { open }, h('summary', {}, 'code'), code),
    outputs,
  );
}

const EXIT_TEXT = {
  done: 'done',
  'cell-error': 'failed',
  timeout: 'killed: time limit reached',
  memory: 'killed: memory limit reached',
  'output-limit': 'killed: too much output',
  stopped: 'stopped',
  crash: 'the run crashed',
};

function showEvent(event, outputs, status) {
  switch (event.type) {
    case 'queued':
      status.textContent = `waiting for a free slot (${event.position} in line)…`;
      break;
    case 'ready':
      status.textContent = 'running…';
      break;
    case 'stream': {
      const last = outputs.lastElementChild;
      if (last?.tagName === 'PRE' && last.classList.contains(event.name)) last.textContent += event.text;
      else outputs.append(h('pre', { class: `stream ${event.name}` }, event.text));
      break;
    }
    case 'display': {
      const el = displayElement(event.data);
      if (event.displayId) el.dataset.displayId = event.displayId;
      const old = event.update && event.displayId ? outputs.querySelector(`[data-display-id="${CSS.escape(event.displayId)}"]`) : null;
      if (old) old.replaceWith(el);
      else outputs.append(el);
      break;
    }
    case 'result':
      outputs.append(h('pre', { class: 'result' }, event.text));
      break;
    case 'error':
      outputs.append(h('pre', { class: 'error' }, event.text || event.message));
      break;
    case 'exit':
      status.textContent = `${EXIT_TEXT[event.reason] ?? event.reason} (${(event.ms / 1000).toFixed(1)} s)`;
      status.dataset.reason = event.reason;
      break;
  }
}

const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** The richest MIME type of a display output that the page can show. */
function displayElement(data) {
  if (data[PLOTLY_MIME]) {
    const el = h('div', { class: 'plot' });
    plot(el, data[PLOTLY_MIME]).catch((err) => el.replaceChildren(h('pre', { class: 'error' }, err.message)));
    return el;
  }
  if (typeof data['text/html'] === 'string') {
    // The demo's own HTML (tables...): the page's Content-Security-Policy keeps any script in it from running.
    const el = h('div', { class: 'html' });
    el.innerHTML = data['text/html'];
    return el;
  }
  if (typeof data['image/svg+xml'] === 'string') {
    return h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data['image/svg+xml'])}`, alt: 'svg output' });
  }
  for (const type of ['image/png', 'image/jpeg', 'image/gif']) {
    if (typeof data[type] === 'string') return h('img', { src: `data:${type};base64,${data[type]}`, alt: `${type} output` });
  }
  const text = data['text/markdown'] ?? data['text/plain'] ?? JSON.stringify(data);
  return h('pre', { class: 'display' }, String(text));
}

// ---------------------------------------------------------------------------------------------
// Stats

async function showStats(deckId) {
  const decks = await api('/api/decks');
  const query = deckId ? `?deck=${encodeURIComponent(deckId)}` : '';
  const stats = await api(`/api/stats${query}`);
  const select = h('select', { 'aria-label': 'deck', onchange: (e) => (location.hash = e.target.value ? `#/stats/${encodeURIComponent(e.target.value)}` : '#/stats') },
    h('option', { value: '' }, 'All decks'),
    decks.filter((d) => !d.error).map((d) => h('option', { value: d.id, selected: d.id === deckId }, d.name)));
  const charts = {
    forecast: h('div', { class: 'chart', id: 'chart-forecast' }),
    reviews: h('div', { class: 'chart', id: 'chart-reviews' }),
    intervals: h('div', { class: 'chart', id: 'chart-intervals' }),
    eases: h('div', { class: 'chart', id: 'chart-eases' }),
  };
  view.replaceChildren(
    h('div', { class: 'bar' }, h('h1', {}, 'Stats'), select),
    h('p', { class: 'muted' }, `${stats.newCards} new cards not reviewed yet.`),
    h('div', { class: 'charts' }, Object.values(charts)),
  );
  // The figures come built by the server from src/viz (the same specs as the notebooks): drawn as they are.
  await Promise.all(Object.entries(charts).map(([name, el]) => plot(el, stats.figures[name])));
}

// ---------------------------------------------------------------------------------------------
// Routing: #/ decks, #/review/<deck>, #/stats[/<deck>]

async function route() {
  onKeys(null);
  const [, page, arg] = location.hash.replace(/^#/, '').split('/');
  const id = arg ? decodeURIComponent(arg) : undefined;
  try {
    if (page === 'review' && id) await showReview(id);
    else if (page === 'stats') await showStats(id);
    else await showDecks();
  } catch (err) {
    showError(err);
  }
}

window.addEventListener('hashchange', route);
route();
