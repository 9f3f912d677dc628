// cardlab's review page: deck list (nested decks), review screen (with live demos on the answer
// side), browse/search, deck options and stats. Plain JavaScript served as is (no build step);
// talks to the JSON API. Card HTML comes rendered and escaped from the server; everything else is
// put in with textContent.

const view = document.getElementById('view');
const announcer = document.getElementById('announce');
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

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const post = options.method === 'POST';
  const res = await fetch(path, {
    method: options.method ?? 'GET',
    headers: post ? { 'Content-Type': 'application/json' } : {},
    body: post ? JSON.stringify(options.body ?? {}) : undefined,
    signal: options.signal,
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(body?.error?.message ?? `${res.status} ${res.statusText}`, res.status);
  return body;
}

/** A random id for a grade request or a review session (crypto.randomUUID needs a secure context). */
function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Tells screen readers what just happened (one polite live region, not the whole page). */
function announce(text) {
  announcer.textContent = '';
  setTimeout(() => (announcer.textContent = text), 30);
}

function formatInterval(days) {
  if (days === undefined || days === null) return '';
  if (days < 1) return '<1d';
  if (days < 30) return `${Math.round(days)}d`;
  if (days < 365) return `${(days / 30).toFixed(1)}mo`;
  return `${(days / 365).toFixed(1)}y`;
}

function spokenInterval(days) {
  if (days === undefined || days === null) return 'no schedule';
  if (days < 1) return 'less than a day';
  if (days < 30) return `${Math.round(days)} ${Math.round(days) === 1 ? 'day' : 'days'}`;
  if (days < 365) return `${(days / 30).toFixed(1)} months`;
  return `${(days / 365).toFixed(1)} years`;
}

function errorNotice(err) {
  return h('div', { class: 'notice error', role: 'alert' }, String(err?.message ?? err));
}

// A page's data can arrive after the user has moved on (a slow search, a grade answered after
// leaving the review): each page, and each action on it, checks that its route is still current
// before it draws, so a late answer never replaces the newer page.
let routeNumber = 0;
function stillOnPage() {
  const n = routeNumber;
  return () => n === routeNumber;
}
const isPageHash = (hash) => hash === '' || hash === '#' || hash.startsWith('#/');

/** Puts a page in place: its title, its content, focus on its h1 (so keyboard users start there). */
function showPage(title, ...children) {
  document.title = `${title} · cardlab`;
  view.replaceChildren(...children.flat().filter(Boolean));
  const h1 = view.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
}

const isTyping = (el) => el instanceof HTMLElement && (el.closest('input, textarea, select, [contenteditable]') !== null);
const isControl = (el) => el instanceof HTMLElement && el.closest('button, a[href], summary, input, textarea, select, [contenteditable]') !== null;
const deckHref = (page, id) => `#/${page}/${encodeURIComponent(id)}`;

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
  for (const axis of Object.keys(out).filter((k) => /^[xyz]axis\d*$/.test(k))) out[axis] = { automargin: true, ...fix(out[axis]) };
  return out;
}

/**
 * Draws a figure as its spec says, with what the page needs around it: the page's colours (dark
 * mode), no toolbar over the title unless the figure asks for one, and a legend that has its own
 * row under the title instead of sitting on the plot or an axis title.
 */
async function plot(el, figure) {
  const Plotly = await loadPlotly();
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue('--fg').trim();
  const line = css.getPropertyValue('--line').trim();
  const given = withTitleObjects(figure.layout ?? {});
  const width = el.clientWidth || 360;
  const named = (figure.data ?? []).filter((t) => t.name !== undefined && t.showlegend !== false).length;
  const layout = {
    ...given,
    margin: { t: 40, r: 16, l: 56, b: 48, ...(given.margin ?? {}) },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: fg, ...(given.font ?? {}) },
  };
  // The title: left, wrapped to the chart's width, in room of its own (never cut off on a phone); the
  // legend in rows of its own between the title and the plot (it covers neither the data nor an axis
  // title). The chart grows by what they take, so the plot keeps its size.
  const titleLines = given.title?.text ? wrapTitle(given.title.text, width).split('<br>').length : 0;
  const legendRows = named > 1 ? (width < 600 ? named : Math.ceil((named * 180) / width)) : 0;
  if (legendRows) layout.legend = { ...(given.legend ?? {}), orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom' };
  const top = 14 + titleLines * 21 + (legendRows ? legendRows * 21 + 10 : 0);
  layout.margin = { ...layout.margin, t: Math.max(layout.margin.t, top) };
  layout.height = (given.height ?? 340) + Math.max(0, top - 50);
  // Centred on its lines' middle: plotly places a multi-line title's first line at a 'top' anchor.
  if (titleLines) {
    const y = 1 - (6 + (titleLines * 21) / 2) / layout.height;
    layout.title = { ...given.title, text: wrapTitle(given.title.text, width), x: 0.01, xanchor: 'left', yref: 'container', y, yanchor: 'middle' };
  }
  for (const axis of Object.keys(layout).filter((k) => /^[xy]axis\d*$/.test(k))) layout[axis] = { gridcolor: line, zerolinecolor: line, automargin: true, ...layout[axis] };
  await Plotly.newPlot(el, figure.data ?? [], layout, { responsive: true, displaylogo: false, displayModeBar: false, ...(figure.config ?? {}) });
}

/** Breaks a plotly title (plain text or its <br>/<sub> markup) into lines that fit `width` pixels. */
function wrapTitle(text, width) {
  const perLine = Math.max(16, Math.floor((width - 24) / 9));
  return String(text)
    .split(/<br\s*\/?>/i)
    .map((part) => {
      const lines = [];
      let current = '';
      for (const word of part.split(' ')) {
        const visible = (current + ' ' + word).replace(/<[^>]+>/g, '').trim();
        if (current && visible.length > perLine) {
          lines.push(current);
          current = word;
        } else current = current ? `${current} ${word}` : word;
      }
      if (current) lines.push(current);
      return lines.join('<br>');
    })
    .join('<br>');
}

// ---------------------------------------------------------------------------------------------
// Deck list: nested decks (the plugin's tag hierarchy), today's new / learning / due.

function countCell(n, kind, color, label) {
  return h('td', { class: `n ${kind} ${n ? color : 'zero'}`, 'aria-label': `${n} ${label}` }, n);
}

async function showDecks() {
  const here = stillOnPage();
  const decks = await api('/api/decks');
  if (!here()) return;
  if (decks.length === 0) {
    showPage('Decks', h('h1', {}, 'Decks'), h('p', { class: 'muted' }, 'No decks: put markdown files tagged #flashcards in the cards folder.'));
    return;
  }
  const rows = decks.map((d) =>
    h(
      'tr',
      { 'data-deck': d.id, 'data-depth': d.depth },
      h('td', { class: 'deck' },
        h('span', { class: 'sub', style: `padding-left:${d.depth * 1.1}rem` },
          d.depth > 0 ? h('span', { 'aria-hidden': 'true' }, '↳ ') : '',
          d.error ? h('span', {}, d.name) : h('a', { href: deckHref('review', d.id), 'aria-label': d.parent ? `${d.name} (in ${d.parent})` : undefined }, d.name)),
        d.error ? h('div', { class: 'error' }, d.error) : null),
      countCell(d.session.new, 'new', 'count-new', 'new'),
      countCell(d.session.again, 'learn', 'count-learn', 'learning'),
      countCell(d.session.due, 'due', 'count-due', 'due'),
      h('td', { class: 'n wide' }, d.counts.total),
      h('td', { class: 'links' },
        d.error ? '' : [
          h('a', { href: deckHref('stats', d.id), 'aria-label': `stats of ${d.name}` }, 'Stats'),
          h('a', { href: deckHref('options', d.id), 'aria-label': `options of ${d.name}` }, 'Options'),
        ]),
    ),
  );
  showPage(
    'Decks',
    h('h1', {}, 'Decks'),
    h('table', { class: 'decks' },
      h('caption', { class: 'visually-hidden' }, 'Decks with the cards left today: new, learning and due'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Deck'),
        h('th', { scope: 'col', class: 'n', title: 'new cards left today' }, 'New'),
        h('th', { scope: 'col', class: 'n', title: 'cards in learning (answered Again today)' }, 'Learn'),
        h('th', { scope: 'col', class: 'n', title: 'reviews due today' }, 'Due'),
        h('th', { scope: 'col', class: 'n wide' }, 'Total'),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Links')))),
      h('tbody', {}, rows)),
  );
}

// ---------------------------------------------------------------------------------------------
// Deck options: daily limits, kept by the server in its data folder.

async function showOptions(deckId) {
  const here = stillOnPage();
  const decks = await api('/api/decks');
  if (!here()) return;
  const deck = decks.find((d) => d.id === deckId);
  if (!deck) throw new Error(`no deck "${deckId}"`);
  const field = (name, label, value, own, hint) => {
    const input = h('input', { type: 'number', name, min: 0, max: 100000, step: 1, inputmode: 'numeric', value: own ? value : '', placeholder: value === null ? 'no limit' : String(value) });
    return h('label', {}, label, input, h('span', { class: 'muted' }, hint));
  };
  const status = h('p', { role: 'status', class: 'muted' });
  const form = h('form', { class: 'limits' },
    field('newPerDay', 'New cards per day', deck.limits.newPerDay, deck.limits.own.newPerDay, 'Empty: the server\'s default.'),
    field('reviewsPerDay', 'Reviews per day', deck.limits.reviewsPerDay, deck.limits.own.reviewsPerDay, 'Empty: no limit.'),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Save')),
    status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (name) => (form.elements[name].value === '' ? null : Number(form.elements[name].value));
    try {
      const limits = await api(`/api/decks/${encodeURIComponent(deckId)}/limits`, { method: 'POST', body: { newPerDay: value('newPerDay'), reviewsPerDay: value('reviewsPerDay') } });
      status.textContent = `Saved: ${limits.newPerDay} new cards and ${limits.reviewsPerDay ?? 'unlimited'} reviews per day.`;
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
    }
  });
  showPage(`${deck.name} options`, h('p', {}, h('a', { href: '#/' }, '← Decks')), h('h1', {}, `${deck.name}: daily limits`), form);
}

// ---------------------------------------------------------------------------------------------
// Review

let keyHandler = null;
function onKeys(handler) {
  if (keyHandler) document.removeEventListener('keydown', keyHandler);
  keyHandler = handler;
  if (handler) document.addEventListener('keydown', handler);
}

/** The review session of a deck (undo belongs to it): one per deck per browser tab. */
function sessionFor(deckId) {
  const key = `cardlab-session:${deckId}`;
  let id = sessionStorage.getItem(key);
  if (!id) {
    id = randomId();
    sessionStorage.setItem(key, id);
  }
  return id;
}

/** Which shown card the page is on: a reply for an older one (the second click of a double click) is ignored. */
let reviewView = 0;

async function showReview(deckId, message) {
  const here = stillOnPage();
  const session = sessionFor(deckId);
  const data = await api(`/api/decks/${encodeURIComponent(deckId)}/next?session=${session}`);
  if (!here()) return;
  const viewId = ++reviewView;
  const { card, progress, undo } = data;
  const undoButton = h('button', {
    class: 'undo small',
    disabled: !undo,
    'aria-keyshortcuts': 'Control+Z',
    title: undo ? `Undo ${undo.grade} (Ctrl+Z)` : 'Nothing to undo in this session',
    onclick: () => undoLast(deckId),
  }, undo ? `Undo ${undo.grade}` : 'Undo');
  const progressList = h('ul', { class: 'progress', 'aria-label': 'left today' },
    h('li', { class: 'count-new' }, h('span', { class: 'n-new' }, progress.new), ' new'),
    h('li', { class: 'count-learn' }, h('span', { class: 'n-learning' }, progress.learning), ' learning'),
    h('li', { class: 'count-due' }, h('span', { class: 'n-review' }, progress.review), ' review'));
  const top = [
    h('p', { class: 'bar' }, h('a', { href: '#/' }, '← Decks'), h('a', { href: deckHref('options', deckId) }, 'Daily limits')),
    h('div', { class: 'bar' }, h('h1', {}, data.deck.name), progressList, undoButton),
    message ? h('p', { class: 'muted last-grade' }, message) : '',
  ];
  if (data.error) {
    onKeys(null);
    showPage(data.deck.name, top, errorNotice(data.error));
    return;
  }
  const keysForUndo = (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === 'z' && !isTyping(event.target)) {
      event.preventDefault();
      if (undo) undoLast(deckId);
      return true;
    }
    return false;
  };
  if (!card) {
    onKeys(keysForUndo);
    showPage(data.deck.name, top, h('section', { class: 'done', 'aria-labelledby': 'done-title' },
      h('h2', { id: 'done-title' }, 'Done for today'),
      h('p', { class: 'muted' }, 'Nothing more is due in this deck today.'),
      h('p', {}, h('a', { href: '#/' }, 'Back to the decks'))));
    return;
  }

  const cloze = card.type === 'Cloze';
  const front = h('div', { class: 'front' });
  front.innerHTML = card.front; // rendered and escaped by the server
  const back = h('div', { class: 'back', hidden: true });
  back.innerHTML = card.back;
  const separator = h('hr', { hidden: true });
  const article = h('article', { class: 'card', 'data-card': card.id, 'data-type': card.type, tabindex: -1, 'aria-label': 'Question' }, front, separator, back);

  const reveal = h('button', { class: 'primary reveal', 'aria-keyshortcuts': 'Space Enter', onclick: () => doReveal() }, 'Show answer', h('kbd', { 'aria-hidden': 'true' }, 'Space'));
  const gradeButtons = GRADES.map((grade, i) => {
    const ivl = card.intervals?.[grade]?.interval;
    // Named by what it shows, words apart ("Good 2.3y 3"); the spelled-out interval is its description.
    const described = `grade-${grade}-description`;
    return h('button', {
      class: grade,
      'data-grade': grade,
      'aria-describedby': described,
      'aria-keyshortcuts': String(i + 1),
      onclick: () => doGrade(grade),
    }, h('span', { class: 'label' }, grade), ' ', h('span', { class: 'ivl' }, formatInterval(ivl)), ' ', h('kbd', {}, String(i + 1)));
  });
  // Outside the buttons (or they would be part of their names); hidden elements still describe.
  const gradeDescriptions = GRADES.map((grade, i) =>
    h('span', { id: `grade-${grade}-description`, hidden: true }, `next review in ${spokenInterval(card.intervals?.[grade]?.interval)}; key ${i + 1}`));
  const grades = h('div', { class: 'grades', role: 'group', 'aria-label': 'How well did you remember?', hidden: true }, gradeButtons, gradeDescriptions);
  const answerBar = h('div', { class: 'answer-bar' }, reveal, grades);

  const tags = card.tags?.length ? h('ul', { class: 'tags', 'aria-label': 'tags' }, card.tags.map((t) => h('li', {}, t))) : '';
  const line = card.source.line + 1;
  const source = h('span', { class: 'source' }, 'Source: ', h('code', {}, `${card.source.file}:${line}`), ' · ',
    h('a', { href: `obsidian://open?path=${encodeURIComponent(card.source.path)}` }, 'Open in Obsidian'), ' · ',
    h('a', { href: `vscode://file${card.source.path.startsWith('/') ? '' : '/'}${encodeURI(card.source.path)}:${line}` }, 'Open in VS Code'));
  const bury = h('button', { class: 'small bury', 'aria-keyshortcuts': '-', title: 'Skip it until tomorrow (-)', onclick: () => flag('bury') }, 'Bury until tomorrow');
  const suspend = h('button', { class: 'small suspend', 'aria-keyshortcuts': '@', title: 'Leave it out until you unsuspend it in Browse (@)', onclick: () => flag('suspend') }, 'Suspend');
  const answerSide = h('div', { class: 'answer-side', hidden: true }, demos(card.cells));

  let revealed = false;
  const requestId = randomId(); // one per shown card: a repeat (double click, retry) is the same grade
  function doReveal() {
    if (revealed) return;
    revealed = true;
    if (cloze) {
      // A cloze shows its paragraph once, with the answer filled in (as Anki and the plugin do).
      front.hidden = true;
    } else {
      separator.hidden = false;
    }
    back.hidden = false;
    answerSide.hidden = false;
    reveal.hidden = true;
    grades.hidden = false;
    article.setAttribute('aria-label', 'Answer');
    article.dataset.side = 'back';
    article.focus({ preventScroll: true });
    announce('Answer shown. Grade with 1 to 4.');
  }
  async function doGrade(grade) {
    if (!revealed) return;
    gradeButtons.forEach((b) => b.setAttribute('aria-busy', 'true'));
    let result = null;
    for (let attempt = 0; attempt < 3 && result === null; attempt++) {
      try {
        result = await api('/api/review', { method: 'POST', body: { cardId: card.id, grade, requestId, session, deck: deckId } });
      } catch (err) {
        // A lost connection is retried with the same request id: the server grades it once.
        if (err instanceof ApiError || attempt === 2) {
          if (viewId === reviewView && here()) view.prepend(errorNotice(err));
          gradeButtons.forEach((b) => b.removeAttribute('aria-busy'));
          return;
        }
      }
    }
    if (viewId !== reviewView || !here()) return; // the other click of a double click already moved on
    reviewView++;
    const text = `${result.grade}: next review ${result.schedule.due.slice(0, 10)}.`;
    announce(text);
    await showReview(deckId, text);
  }
  async function flag(action) {
    try {
      await api('/api/cards/flag', { method: 'POST', body: { cardId: card.id, action } });
      const text = action === 'bury' ? 'Buried until tomorrow.' : 'Suspended: unsuspend it in Browse.';
      announce(text);
      if (here()) await showReview(deckId, text);
    } catch (err) {
      if (here()) view.prepend(errorNotice(err));
    }
  }
  onKeys((event) => {
    if (keysForUndo(event)) return;
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target) || document.querySelector('dialog[open]')) return;
    // Space and Enter on a button or link press it, as everywhere else; elsewhere they reveal.
    if ((event.key === ' ' || event.key === 'Enter') && !isControl(event.target)) {
      event.preventDefault();
      if (!revealed) doReveal();
      else doGrade('Good'); // Anki: Space/Enter on the answer side is Good
    } else if (revealed && ['1', '2', '3', '4'].includes(event.key)) {
      event.preventDefault();
      doGrade(GRADES[Number(event.key) - 1]);
    } else if (event.key === '-') {
      event.preventDefault();
      flag('bury');
    } else if (event.key === '@') {
      event.preventDefault();
      flag('suspend');
    }
  });
  const context = h('nav', { class: 'context', 'aria-label': 'where the card is' }, card.context.map((c) => h('span', {}, c)));
  showPage(
    data.deck.name,
    top,
    context,
    (card.problems ?? []).map((p) => h('div', { class: 'notice card-problem' }, p)),
    article,
    h('div', { class: 'meta' }, tags, source),
    h('div', { class: 'card-actions' }, bury, suspend),
    answerSide,
    answerBar,
  );
}

async function undoLast(deckId) {
  const here = stillOnPage();
  try {
    const result = await api('/api/review/undo', { method: 'POST', body: { session: sessionFor(deckId) } });
    announce(`Undid ${result.grade}.`);
    if (here()) await showReview(deckId, `Undid ${result.grade}.`);
  } catch (err) {
    if (here()) view.prepend(errorNotice(err));
  }
}

// ---------------------------------------------------------------------------------------------
// Wiki links open a preview of the linked section beside the card; the review stays where it was.

const previewDialog = document.getElementById('preview');
previewDialog.querySelector('button.close').addEventListener('click', () => previewDialog.close());
previewDialog.addEventListener('click', (event) => {
  if (event.target === previewDialog) previewDialog.close(); // a click on the backdrop
});

async function openPreview(target) {
  const body = previewDialog.querySelector('.preview-body');
  const title = previewDialog.querySelector('#preview-title');
  title.textContent = target;
  body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  previewDialog.setAttribute('aria-busy', 'true');
  if (!previewDialog.open) previewDialog.showModal();
  try {
    const section = await api(`/api/link-preview?target=${encodeURIComponent(target)}`);
    title.textContent = section.title;
    body.innerHTML = section.html; // rendered and escaped by the server
  } catch (err) {
    body.replaceChildren(errorNotice(err));
  } finally {
    previewDialog.removeAttribute('aria-busy');
  }
}

document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a.wikilink') : null;
  if (!link) return;
  event.preventDefault();
  openPreview(link.dataset.target);
});

// ---------------------------------------------------------------------------------------------
// Live demos: the card's linked notebook cells, on the answer side, code folded, run on the
// server with outputs streamed; Stop aborts the request, which ends the run on the server.

function demos(cells) {
  if (!cells || cells.length === 0) return '';
  return h('section', { class: 'demos', 'aria-labelledby': 'demos-title' }, h('h2', { id: 'demos-title' }, 'Live demos'), cells.map((cell) => demo(cell)));
}

/** One demo: title (what it shows) with Run/Stop/Reset, its code (folded), then its outputs. */
function demo(cell) {
  const title = cell.title || `${cell.notebook} · cell ${cell.index}`;
  const code = h('textarea', { spellcheck: 'false', 'aria-label': `code of “${title}”` });
  code.value = cell.code;
  code.rows = Math.min(20, cell.code.split('\n').length + 1);
  const outputs = h('div', { class: 'outputs', 'aria-live': 'polite', 'aria-label': `output of “${title}”` });
  const status = h('span', { class: 'status', role: 'status' });
  const run = h('button', { class: 'primary run small', 'aria-label': `Run “${title}”`, onclick: () => runDemo() }, 'Run');
  const stop = h('button', { class: 'stop small', 'aria-label': `Stop “${title}”`, hidden: true, onclick: () => controller?.abort() }, 'Stop');
  const reset = h('button', { class: 'reset small', 'aria-label': `Reset the code of “${title}”`, title: 'back to the notebook\'s code', onclick: () => (code.value = cell.code) }, 'Reset');
  let controller = null;
  async function runDemo() {
    controller = new AbortController();
    run.hidden = true;
    stop.hidden = false;
    outputs.replaceChildren();
    status.textContent = 'starting…';
    delete status.dataset.reason;
    try {
      const res = await fetch(`/api/cells/${encodeURIComponent(cell.id)}/run`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: code.value }),
        signal: controller.signal,
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
      if (controller.signal.aborted) {
        status.textContent = 'stopped';
        status.dataset.reason = 'stopped';
      } else {
        status.textContent = '';
        outputs.append(h('pre', { class: 'error' }, err.message));
      }
    } finally {
      controller = null;
      run.hidden = false;
      stop.hidden = true;
      if (document.activeElement === document.body || document.activeElement === stop) run.focus({ preventScroll: true });
    }
  }
  return h(
    'section',
    { class: 'demo', 'data-cell': cell.id, 'aria-label': title },
    h('header', {},
      h('div', {}, h('h3', {}, title), h('span', { class: 'where' }, `${cell.notebook} · cell ${cell.index}`)),
      h('span', { class: 'buttons' }, status, reset, run, stop)),
    h('details', {}, h('summary', {}, 'Show the code'), code),
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
    // The demo's own HTML (tables...): the page's Content-Security-Policy keeps any script in it from
    // running. It scrolls sideways in its own box (focusable, so the keyboard can scroll it too).
    const el = h('div', { class: 'html', tabindex: 0, role: 'region', 'aria-label': 'table output' });
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
// Browse: every card, searchable by text, tag, deck and state, with its schedule.

const STATES = ['all', 'due', 'new', 'learning', 'young', 'mature', 'suspended', 'buried'];

async function showBrowse(params) {
  const q = params.get('q') ?? '';
  const deck = params.get('deck') ?? '';
  const tag = params.get('tag') ?? '';
  const state = params.get('state') ?? 'all';
  const query = new URLSearchParams(Object.entries({ q, deck, tag, state }).filter(([, v]) => v !== '' && v !== 'all'));
  const here = stillOnPage();
  const [decks, result] = await Promise.all([api('/api/decks'), api(`/api/cards?${query}&limit=300`)]);
  if (!here()) return;
  const select = (name, label, options, value) =>
    h('label', {}, label, h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
  const form = h('form', { class: 'search', role: 'search' },
    h('label', {}, 'Text', h('input', { type: 'search', name: 'q', value: q, placeholder: 'words in question or answer' })),
    select('deck', 'Deck', [['', 'All decks'], ...decks.filter((d) => !d.error).map((d) => [d.id, '\u00a0'.repeat(d.depth * 2) + d.name])], deck),
    select('tag', 'Tag', [['', 'Any tag'], ...result.tags.map((t) => [t.slice(1), t])], tag),
    select('state', 'State', STATES.map((s) => [s, s === 'all' ? 'Any state' : s]), state),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams([...new FormData(form)].filter(([, v]) => v !== '' && v !== 'all'));
    location.hash = `#/browse?${next}`;
  });
  const rows = result.cards.map((c) => {
    const action = c.state === 'suspended' ? 'unsuspend' : c.state === 'buried' ? 'unbury' : 'suspend';
    const button = h('button', {
      class: `small ${action}`,
      'aria-label': `${action[0].toUpperCase()}${action.slice(1)} “${c.question.slice(0, 40)}”`,
      onclick: async () => {
        try {
          await api('/api/cards/flag', { method: 'POST', body: { cardId: c.id, action } });
          announce(`${action === 'suspend' ? 'Suspended' : action === 'unsuspend' ? 'Unsuspended' : 'Unburied'}.`);
          if (here()) await showBrowse(params);
        } catch (err) {
          if (here()) view.prepend(errorNotice(err));
        }
      },
    }, action[0].toUpperCase() + action.slice(1));
    return h('tr', { 'data-card': c.id, 'data-state': c.state },
      h('td', { class: 'q' }, c.question, h('div', { class: 'muted' }, c.answer)),
      h('td', {}, c.deck),
      h('td', {}, c.tags.join(' ')),
      h('td', { class: 'nowrap state' }, c.state),
      h('td', { class: 'nowrap' }, c.due ?? '—'),
      h('td', { class: 'nowrap' }, c.interval === null ? '—' : formatInterval(c.interval)),
      h('td', { class: 'nowrap' }, c.ease === null ? '—' : (c.ease / 100).toFixed(2)),
      h('td', { class: 'nowrap' }, h('code', {}, `${c.source.file}:${c.source.line + 1}`)),
      h('td', {}, button));
  });
  showPage(
    'Browse',
    h('h1', {}, 'Browse'),
    form,
    h('p', { class: 'muted', role: 'status' }, result.total === result.cards.length ? `${result.total} cards` : `${result.total} cards, the first ${result.cards.length} shown`),
    h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'cards found' },
      h('table', { class: 'browse' },
        h('thead', {}, h('tr', {}, ['Card', 'Deck', 'Tags', 'State', 'Due', 'Interval', 'Ease', 'Source', 'Action'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows))),
  );
}

// ---------------------------------------------------------------------------------------------
// Stats

const percent = (r) => (r.rate === null ? 'no reviews yet' : `${Math.round(r.rate * 1000) / 10}% of ${r.reviews}`);

async function showStats(deckId) {
  const here = stillOnPage();
  const decks = await api('/api/decks');
  const query = deckId ? `?deck=${encodeURIComponent(deckId)}` : '';
  const stats = await api(`/api/stats${query}`);
  if (!here()) return;
  const select = h('select', { id: 'stats-deck', onchange: (e) => (location.hash = e.target.value ? deckHref('stats', e.target.value) : '#/stats') },
    h('option', { value: '' }, 'All decks'),
    decks.filter((d) => !d.error).map((d) => h('option', { value: d.id, selected: d.id === deckId }, '\u00a0'.repeat(d.depth * 2) + d.name)));
  const charts = {
    forecast: h('div', { class: 'chart', id: 'chart-forecast', role: 'img', 'aria-label': 'cards due in the next 30 days' }),
    reviews: h('div', { class: 'chart', id: 'chart-reviews', role: 'img', 'aria-label': 'reviews per day by grade' }),
    intervals: h('div', { class: 'chart', id: 'chart-intervals', role: 'img', 'aria-label': 'cards by interval' }),
    eases: h('div', { class: 'chart', id: 'chart-eases', role: 'img', 'aria-label': 'cards by ease' }),
  };
  const row = (label, value, cls) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', { class: `n ${cls ?? ''}` }, value));
  const r = stats.retention;
  showPage(
    'Stats',
    h('div', { class: 'bar' }, h('h1', {}, 'Stats'), h('label', { for: 'stats-deck' }, 'Deck ', select)),
    h('div', { class: 'summary' },
      h('section', { 'aria-labelledby': 'ret-title' },
        h('h2', { id: 'ret-title' }, 'Retention'),
        h('p', { class: 'muted' }, 'Reviews of learned cards not answered Again.'),
        h('table', { class: 'retention' }, h('tbody', {},
          row('Today', percent(r.today), 'today'),
          row('Last 30 days', percent(r.month), 'month'),
          row('All time', percent(r.all), 'all')))),
      h('section', { 'aria-labelledby': 'states-title' },
        h('h2', { id: 'states-title' }, 'Cards by state'),
        h('table', { class: 'states' }, h('tbody', {},
          Object.entries(stats.states).map(([state, n]) => h('tr', { 'data-state': state }, h('th', { scope: 'row' }, state), h('td', { class: 'n' }, n))))))),
    h('div', { class: 'charts' }, Object.values(charts)),
  );
  // The figures come built by the server from src/viz (the same specs as the notebooks): drawn as they are.
  await Promise.all(Object.entries(charts).map(([name, el]) => plot(el, stats.figures[name])));
}

// ---------------------------------------------------------------------------------------------
// Routing: #/ decks, #/review/<deck>, #/options/<deck>, #/browse?…, #/stats[/<deck>]

async function route() {
  const hash = location.hash;
  if (hash.startsWith('#card-link=')) {
    // A wiki link opened on its own (new tab): the decks, with the link's preview open.
    history.replaceState(null, '', '#/');
    await route();
    openPreview(decodeURIComponent(hash.slice('#card-link='.length)));
    return;
  }
  if (!isPageHash(hash)) return; // an in-page anchor, not a page
  routeNumber++;
  const here = stillOnPage();
  onKeys(null);
  if (previewDialog.open) previewDialog.close();
  const [pathPart, search = ''] = hash.replace(/^#/, '').split('?');
  const [, page, ...rest] = pathPart.split('/');
  const id = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
  try {
    if (page === 'review' && id) await showReview(id);
    else if (page === 'options' && id) await showOptions(id);
    else if (page === 'browse') await showBrowse(new URLSearchParams(search));
    else if (page === 'stats') await showStats(id);
    else await showDecks();
  } catch (err) {
    if (here()) showPage('Error', h('h1', {}, 'Something went wrong'), errorNotice(err), h('p', {}, h('a', { href: '#/' }, 'Back to the decks')));
  }
}

// The skip link moves focus without changing the route.
document.querySelector('a.skip').addEventListener('click', (event) => {
  event.preventDefault();
  view.focus();
});

window.addEventListener('hashchange', route);
route();
