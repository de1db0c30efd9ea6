'use strict';
// The pattern pad: turns each `[data-pattern-pad]` into an SVG grid of n×n dots, numbered
// 1..n² row by row from the top left, and writes the dots drawn (in order, `3-7-12-…`) into
// the text field it names (`data-input`), which it then hides; without this script the field
// is typed into instead.
//
// Drawing: press on a dot and move through the others (mouse, pen or finger: pointer
// events); a dot counts once, when the pointer comes near its centre. Pressing again starts
// a new pattern. Keyboard: the pad takes the focus; arrows move the cursor, Enter or Space
// takes the dot under it (Enter on a complete pattern submits the form), Backspace undoes,
// Escape clears.
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const GAP = 64; // distance between dot centres, in SVG units
  const HIT = GAP * 0.3; // how near a pointer must come to take a dot

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  function setUp(host) {
    const input = document.getElementById(host.dataset.input);
    const n = Number(host.dataset.size);
    const k = Number(host.dataset.dots);
    if (!input || !(n >= 3 && n <= 8)) return;
    const side = n * GAP;
    const centre = (i) => ({ x: ((i - 1) % n) * GAP + GAP / 2, y: Math.floor((i - 1) / n) * GAP + GAP / 2 });
    const drawn = [];
    let cursor = 1;
    let drawing = false;

    const svg = el('svg', { viewBox: `0 0 ${side} ${side}`, width: side, height: side, tabindex: 0, role: 'group', class: 'pad' });
    const label = document.querySelector(`label[for="${input.id}"]`);
    svg.setAttribute('aria-label', `${label ? label.textContent.trim() + ': ' : ''}pattern pad, ${n} by ${n} dots numbered 1 to ${n * n} row by row`);
    const hint = document.getElementById(`${input.id}-hint`);
    if (hint) svg.setAttribute('aria-describedby', hint.id);
    const line = el('polyline', { class: 'pad-line', fill: 'none' });
    svg.appendChild(line);
    const dots = [];
    for (let i = 1; i <= n * n; i++) {
      const c = centre(i);
      const g = el('g', { class: 'pad-dot', 'data-dot': i });
      g.appendChild(el('circle', { cx: c.x, cy: c.y, r: GAP * 0.32, class: 'pad-target' }));
      g.appendChild(el('circle', { cx: c.x, cy: c.y, r: GAP * 0.1, class: 'pad-core' }));
      const t = el('text', { x: c.x + GAP * 0.17, y: c.y - GAP * 0.17, class: 'pad-number' });
      t.textContent = String(i);
      g.appendChild(t);
      svg.appendChild(g);
      dots.push(g);
    }
    const status = document.createElement('p');
    status.className = 'pad-status';
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    const clear = document.createElement('button');
    clear.type = 'button';
    clear.className = 'secondary';
    clear.textContent = 'Clear the pattern';

    function render() {
      dots.forEach((g, idx) => {
        const i = idx + 1;
        g.classList.toggle('taken', drawn.includes(i));
        g.classList.toggle('cursor', i === cursor && document.activeElement === svg);
      });
      line.setAttribute('points', drawn.map((i) => `${centre(i).x},${centre(i).y}`).join(' '));
      input.value = drawn.join('-');
      status.textContent = drawn.length
        ? `Drawn ${drawn.length} of ${k}: ${drawn.join(', ')}`
        : `Nothing drawn yet (${k} dots needed).`;
    }

    function take(i) {
      if (i >= 1 && i <= n * n && !drawn.includes(i) && drawn.length < n * n) {
        drawn.push(i);
        render();
      }
    }

    function dotAt(evt) {
      const box = svg.getBoundingClientRect();
      const x = ((evt.clientX - box.left) / box.width) * side;
      const y = ((evt.clientY - box.top) / box.height) * side;
      const col = Math.floor(x / GAP);
      const row = Math.floor(y / GAP);
      if (col < 0 || col >= n || row < 0 || row >= n) return 0;
      const i = row * n + col + 1;
      const c = centre(i);
      return Math.hypot(c.x - x, c.y - y) <= HIT ? i : 0;
    }

    svg.addEventListener('pointerdown', (evt) => {
      evt.preventDefault();
      svg.focus();
      drawing = true;
      drawn.length = 0;
      svg.setPointerCapture(evt.pointerId);
      take(dotAt(evt));
      render();
    });
    svg.addEventListener('pointermove', (evt) => {
      if (drawing) take(dotAt(evt));
    });
    const stop = () => { drawing = false; };
    svg.addEventListener('pointerup', stop);
    svg.addEventListener('pointercancel', stop);

    svg.addEventListener('keydown', (evt) => {
      const row = Math.floor((cursor - 1) / n);
      const col = (cursor - 1) % n;
      let handled = true;
      switch (evt.key) {
        case 'ArrowLeft': cursor = row * n + Math.max(col - 1, 0) + 1; break;
        case 'ArrowRight': cursor = row * n + Math.min(col + 1, n - 1) + 1; break;
        case 'ArrowUp': cursor = Math.max(row - 1, 0) * n + col + 1; break;
        case 'ArrowDown': cursor = Math.min(row + 1, n - 1) * n + col + 1; break;
        case 'Home': cursor = row * n + 1; break;
        case 'End': cursor = row * n + n; break;
        case ' ': take(cursor); break;
        case 'Enter':
          if (drawn.length >= k && input.form) input.form.requestSubmit();
          else take(cursor);
          break;
        case 'Backspace': drawn.pop(); break;
        case 'Escape': drawn.length = 0; break;
        default: handled = false;
      }
      if (handled) {
        evt.preventDefault();
        render();
      }
    });
    svg.addEventListener('focus', render);
    svg.addEventListener('blur', render);
    clear.addEventListener('click', () => { drawn.length = 0; render(); svg.focus(); });

    // The pad replaces the field: its value is what the pad wrote.
    input.type = 'hidden';
    if (label) label.id = label.id || `${input.id}-label`;
    host.append(svg, status, clear);
    if (input.hasAttribute('autofocus')) svg.focus();
    render();
  }

  function start() {
    document.querySelectorAll('[data-pattern-pad]').forEach(setUp);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
