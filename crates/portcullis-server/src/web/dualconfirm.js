// The DualConfirm console of /dualconfirm (served by the binary at /assets/dualconfirm.js;
// no build step, no dependencies). It opens the live feed /v1/dualconfirm/live on this
// origin — the browser sends the access cookie — and shows, for the selected pair, the word
// to say, the word to expect, the other party's presence and a countdown to the next
// rotation; it checks a heard word through the page's own form (POST /dualconfirm/check with
// the session's CSRF token), shows mismatch alerts, tells the server about user activity
// (at most every 10 s), and reconnects with back-off. When the server closes the socket
// because the access token expired (4001), it first asks /dualconfirm/ping, which renews the
// access cookie, and reloads the page when the session is gone. When the server closed it
// because the console fell behind (4002), it reconnects at once and is brought up to date;
// when the account is no longer a side of one of its pairs (4003), it reloads the page, whose
// list of pairs is then current.
//
// Server text only ever reaches the page through textContent.
'use strict';

(function () {
  const root = document.getElementById('dualconfirm');
  if (!root) return;

  const CLOSE_REAUTHENTICATE = 4001;
  const CLOSE_TOO_SLOW = 4002;
  const CLOSE_NOT_A_PARTY = 4003;
  const ACTIVITY_EVERY_MS = 10_000;
  const FIRST_DELAY_MS = 1_000;
  const MAX_DELAY_MS = 30_000;
  const STABLE_MS = 15_000;

  const byId = (id) => document.getElementById(id);
  const el = {
    alert: byId('dc-alert'),
    connection: byId('dc-connection'),
    choose: byId('dc-choose'),
    panel: byId('dc-panel'),
    partyName: byId('dc-party-name'),
    presence: byId('dc-presence'),
    presenceText: byId('dc-presence-text'),
    say: byId('dc-say'),
    expect: byId('dc-expect'),
    countdown: byId('dc-countdown'),
    bar: byId('dc-bar-fill'),
    form: byId('dc-check'),
    pair: byId('dc-pair'),
    heard: byId('dc-heard'),
    checkButton: byId('dc-check-button'),
    verdict: byId('dc-verdict'),
  };
  const consoleRole = root.dataset.console;
  const baseTitle = document.title;

  // pair id → { button, name, side, words, presence, changed }
  const pairs = new Map();
  let selected = null;
  let socket = null;
  let openedAt = 0;
  let connects = 0;
  let delay = FIRST_DELAY_MS;
  let needsPing = false;
  let lastActivitySent = 0;

  for (const button of root.querySelectorAll('button.dc-party')) {
    pairs.set(button.dataset.pair, {
      button,
      name: button.dataset.name || '',
      side: button.dataset.side,
      words: null,
      presence: null,
      changed: false,
    });
    button.addEventListener('click', () => select(button.dataset.pair));
  }

  // --- same-origin requests, one at a time ----------------------------------------------------
  // A request with an expired access cookie makes the session middleware spend the refresh
  // token; two at once would look like reuse. So the console never has two in flight.
  let queue = Promise.resolve();
  function request(url, init) {
    const run = queue.then(() => fetch(url, Object.assign({ credentials: 'same-origin' }, init)));
    queue = run.then(() => undefined, () => undefined);
    return run;
  }

  // --- rendering -------------------------------------------------------------------------------
  function setText(node, text) {
    if (node) node.textContent = text;
  }

  function otherSide(p) {
    return p.side === 'advisor' ? 'client' : 'advisor';
  }

  // `here`, `idle`, `away` or `unknown` (no feed).
  function presenceOf(p) {
    const pr = p.presence;
    if (!pr) return 'unknown';
    if (pr.connected && pr.active) return 'here';
    return pr.connected ? 'idle' : 'away';
  }

  function presenceShort(kind) {
    switch (kind) {
      case 'here': return 'connected';
      case 'idle': return 'inactive';
      case 'away': return 'not connected';
      default: return 'unknown';
    }
  }

  function presenceLong(p) {
    if (p.changed) return 'This pairing changed: reload the page.';
    switch (presenceOf(p)) {
      case 'here': return `${p.name} has the console open: these words are live.`;
      case 'idle': return `${p.name} has the console open but has been inactive; the words come back when they are active.`;
      case 'away': return `${p.name} does not have the console open. The words appear when both of you do.`;
      default: return 'Not connected to the server yet.';
    }
  }

  function renderParty(p) {
    const kind = presenceOf(p);
    const dot = p.button.querySelector('.dc-dot');
    if (dot) dot.dataset.presence = kind;
    setText(p.button.querySelector('.dc-state'), p.changed ? 'changed' : presenceShort(kind));
    p.button.disabled = p.changed;
  }

  function render() {
    for (const p of pairs.values()) renderParty(p);
    const p = selected && pairs.get(selected);
    if (el.choose) el.choose.hidden = Boolean(p) || pairs.size === 0;
    if (!el.panel) return;
    el.panel.hidden = !p;
    if (!p) {
      root.dataset.window = '';
      return;
    }
    setText(el.partyName, p.name);
    el.pair.value = selected;
    const kind = presenceOf(p);
    const dot = el.presence.querySelector('.dc-dot');
    if (dot) dot.dataset.presence = kind;
    setText(el.presenceText, presenceLong(p));
    const w = p.words;
    setText(el.say, w ? w.say : '—');
    setText(el.expect, w ? w.expect : '—');
    for (const node of [el.say, el.expect]) {
      if (w && w.language) node.lang = w.language; else node.removeAttribute('lang');
    }
    el.panel.dataset.session = w ? 'live' : 'waiting';
    root.dataset.window = w ? String(w.window) : '';
    el.heard.disabled = !w;
    el.checkButton.disabled = !w;
    tick();
  }

  function tick() {
    const p = selected && pairs.get(selected);
    const w = p && p.words;
    if (!w) {
      setText(el.countdown, p && p.changed ? '' : 'Waiting for both of you to have the console open.');
      el.bar.style.width = '0%';
      return;
    }
    const ms = Math.max(0, w.deadline - Date.now());
    const left = Math.ceil(ms / 1000);
    setText(el.countdown, left > 0 ? `New words in ${left} s` : 'New words any moment…');
    const share = w.window_secs > 0 ? Math.min(1, ms / (w.window_secs * 1000)) : 0;
    el.bar.style.width = `${Math.round(share * 100)}%`;
  }

  function setConnection(text, state) {
    setText(el.connection, text);
    el.connection.dataset.state = state;
  }

  function select(id) {
    const p = pairs.get(id);
    if (!p || p.changed) return;
    if (selected !== id) {
      el.verdict.hidden = true;
      setText(el.verdict, '');
      delete el.verdict.dataset.verdict;
      el.heard.value = '';
    }
    selected = id;
    for (const [pid, q] of pairs) q.button.setAttribute('aria-pressed', pid === id ? 'true' : 'false');
    render();
    noteActivity();
  }

  function alertText(message) {
    if (message.by === 'client') {
      return 'The client heard a wrong word — the caller may not be who they claim.';
    }
    return 'The advisor heard a wrong word — the person on the call may not be who they claim.';
  }

  function showAlert(message) {
    const p = pairs.get(message.pair);
    const box = el.alert;
    box.replaceChildren();
    const head = document.createElement('strong');
    head.textContent = p ? `Warning about ${p.name}` : 'Warning';
    const time = new Date().toLocaleTimeString();
    const text = document.createElement('span');
    text.textContent = ` (${time}): ${alertText(message)}`;
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'secondary inline';
    dismiss.textContent = 'Dismiss';
    dismiss.addEventListener('click', () => {
      box.hidden = true;
      box.replaceChildren();
      document.title = baseTitle;
      for (const q of pairs.values()) delete q.button.dataset.alert;
    });
    const actions = document.createElement('div');
    actions.appendChild(dismiss);
    box.append(head, text, actions);
    box.dataset.pair = message.pair || '';
    box.dataset.by = message.by || '';
    box.hidden = false;
    if (p) p.button.dataset.alert = 'true';
    document.title = `⚠ ${baseTitle}`;
  }

  // --- messages ----------------------------------------------------------------------------------
  function handle(m) {
    if (!m || typeof m !== 'object') return;
    const p = pairs.get(m.pair);
    switch (m.type) {
      case 'words':
        if (!p) return;
        {
          const secs = Number(m.window_secs) || 0;
          const untilRotation = Number(m.rotates_at) * 1000 - Date.now();
          // Another clock: never count down more than a window, nor below zero.
          const wait = Math.min(Math.max(untilRotation, 0), secs * 1000);
          p.words = {
            window: m.window,
            say: String(m.say),
            expect: String(m.expect),
            window_secs: secs,
            language: typeof m.language === 'string' ? m.language : '',
            deadline: Date.now() + wait,
          };
        }
        break;
      case 'presence':
        if (!p) return;
        p.presence = { connected: Boolean(m.connected), active: Boolean(m.active), session: m.session };
        if (m.session !== 'live') p.words = null;
        break;
      case 'alert':
        showAlert(m);
        return;
      case 'session':
        if (!p) return;
        if (m.state === 'ended') {
          p.words = null;
          p.changed = true;
        }
        break;
      default:
        return;
    }
    render();
  }

  // --- the socket ----------------------------------------------------------------------------------
  function clearLive() {
    for (const p of pairs.values()) {
      p.words = null;
      p.presence = null;
    }
    render();
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    let ws;
    try {
      ws = new WebSocket(`${scheme}${location.host}/v1/dualconfirm/live`);
    } catch (e) {
      needsPing = true;
      retry();
      return;
    }
    socket = ws;
    let opened = false;
    setConnection('Connecting…', 'connecting');
    ws.addEventListener('open', () => {
      opened = true;
      openedAt = Date.now();
      connects += 1;
      root.dataset.connects = String(connects);
      lastActivitySent = Date.now();
      setConnection('Connected.', 'open');
    });
    ws.addEventListener('message', (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      handle(m);
    });
    ws.addEventListener('close', (ev) => {
      if (socket === ws) socket = null;
      clearLive();
      if (ev.code === CLOSE_NOT_A_PARTY) {
        location.reload();
        return;
      }
      if (opened && Date.now() - openedAt > STABLE_MS) delay = FIRST_DELAY_MS;
      // An expired token (4001), or a refused upgrade (the cookie may be gone): renew the
      // cookie before trying again.
      needsPing = ev.code === CLOSE_REAUTHENTICATE || !opened;
      const soon = (ev.code === CLOSE_REAUTHENTICATE || ev.code === CLOSE_TOO_SLOW) && delay === FIRST_DELAY_MS;
      retry(soon ? 0 : undefined);
    });
  }

  function retry(wait) {
    const ms = wait === undefined ? Math.round(delay * (0.5 + Math.random() * 0.5)) : wait;
    if (wait === undefined) delay = Math.min(delay * 2, MAX_DELAY_MS);
    setConnection(
      needsPing ? 'Renewing the connection…' : `Connection lost; trying again in ${Math.ceil(ms / 1000)} s.`,
      'retrying',
    );
    setTimeout(reconnect, ms);
  }

  async function reconnect() {
    if (needsPing) {
      let response;
      try {
        response = await request('/dualconfirm/ping', { method: 'GET', redirect: 'manual', cache: 'no-store' });
      } catch (e) {
        retry();
        return;
      }
      if (response.status !== 204) {
        // The session is gone (or the server answers oddly): the page sends us to sign in.
        location.reload();
        return;
      }
      needsPing = false;
    }
    connect();
  }

  // --- activity --------------------------------------------------------------------------------------
  function noteActivity() {
    const now = Date.now();
    if (now - lastActivitySent < ACTIVITY_EVERY_MS) return;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    lastActivitySent = now;
    socket.send(JSON.stringify({ type: 'active' }));
  }
  for (const type of ['keydown', 'click', 'mousemove', 'touchstart', 'scroll']) {
    document.addEventListener(type, noteActivity, { passive: true, capture: true });
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') noteActivity();
  });

  // --- checking a heard word ----------------------------------------------------------------------
  function showVerdict(kind, text) {
    el.verdict.dataset.verdict = kind;
    el.verdict.className = `dc-verdict ${kind}`;
    setText(el.verdict, text);
    el.verdict.hidden = false;
  }

  el.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = selected && pairs.get(selected);
    if (!p) return;
    const word = el.heard.value.trim();
    if (!word) {
      showVerdict('error', 'Type the word you heard.');
      el.heard.focus();
      return;
    }
    el.pair.value = selected;
    const body = new URLSearchParams(new FormData(el.form));
    el.checkButton.disabled = true;
    showVerdict('pending', 'Checking…');
    let response;
    let reply = null;
    try {
      response = await request(el.form.action, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      });
      const type = response.headers.get('content-type') || '';
      if (type.startsWith('application/json')) reply = await response.json();
    } catch (e) {
      showVerdict('error', 'The check could not be sent; try again.');
      el.checkButton.disabled = !p.words;
      return;
    }
    el.checkButton.disabled = !p.words;
    if (response.ok && reply && typeof reply.match === 'boolean') {
      const left = Number(reply.attempts_left);
      if (reply.match) {
        showVerdict('match', `✓ Match: “${word}” is ${p.name}’s word.`);
      } else {
        showVerdict(
          'mismatch',
          `✗ “${word}” is not the word ${p.name} should say. If you heard it clearly, end the call: ` +
            `the caller may not be who they claim. ${left} check(s) left for these words.`,
        );
      }
      el.heard.value = '';
    } else if (reply && typeof reply.error === 'string') {
      showVerdict('error', reply.error);
    } else {
      showVerdict('error', `The check could not be made (HTTP ${response.status}); reload the page.`);
    }
  });

  // --- start ---------------------------------------------------------------------------------------------
  if (consoleRole === 'client' && pairs.size === 1) select(pairs.keys().next().value);
  render();
  setInterval(tick, 250);
  connect();
}());
