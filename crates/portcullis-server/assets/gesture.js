// The gesture pad: records an ordered sequence of events on a 3x3 grid into the form's
// hidden field, in the canonical form the server hashes ("click@5 dblclick@1 ...").
// Timing is not recorded. Mouse: click, double click, right click, wheel up/down on a cell.
// Keyboard (the pad has the focus): arrows or 1-9 choose a cell; Enter or Space = click,
// D = double click, R = right click, U = scroll up, N = scroll down; Backspace undoes the
// last event, Escape clears.
(function () {
  "use strict";
  var MAX = 32;
  function setup(pad) {
    // The script may be included once per pad: each pad is set up once.
    if (pad.getAttribute("data-ready")) { return; }
    pad.setAttribute("data-ready", "1");
    var field = document.getElementById(pad.getAttribute("data-field"));
    var status = document.getElementById(pad.getAttribute("data-status"));
    var cells = pad.querySelectorAll("[data-cell]");
    var events = [];
    var cursor = 5;
    var lastWheel = { at: 0, key: "" };
    function render() {
      field.value = events.join(" ");
      status.textContent = events.length + " event" + (events.length === 1 ? "" : "s") +
        " recorded" + (events.length < 6 ? " (at least 6)" : "");
      for (var i = 0; i < cells.length; i++) {
        var c = cells[i];
        c.classList.toggle("cursor", Number(c.getAttribute("data-cell")) === cursor);
      }
    }
    function record(kind, cell) {
      if (events.length >= MAX) { return; }
      events.push(kind + "@" + cell);
      render();
    }
    function cellOf(target) {
      var el = target.closest ? target.closest("[data-cell]") : null;
      return el && pad.contains(el) ? Number(el.getAttribute("data-cell")) : 0;
    }
    pad.addEventListener("click", function (e) {
      var cell = cellOf(e.target);
      if (!cell) { return; }
      e.preventDefault();
      cursor = cell;
      // The second click of a double click is part of it, not a click of its own.
      if (e.detail === 2) { return; }
      if (e.detail > 2) { return; }
      record("click", cell);
    });
    pad.addEventListener("dblclick", function (e) {
      var cell = cellOf(e.target);
      if (!cell) { return; }
      e.preventDefault();
      // The browser reported the first click already: the pair becomes one double click.
      if (events.length && events[events.length - 1] === "click@" + cell) { events.pop(); }
      record("dblclick", cell);
    });
    pad.addEventListener("contextmenu", function (e) {
      var cell = cellOf(e.target);
      if (!cell) { return; }
      e.preventDefault();
      cursor = cell;
      record("rightclick", cell);
    });
    pad.addEventListener("wheel", function (e) {
      var cell = cellOf(e.target);
      if (!cell || e.deltaY === 0) { return; }
      e.preventDefault();
      var kind = e.deltaY < 0 ? "scrollup" : "scrolldown";
      // One turn of a wheel or trackpad fires a burst of events: count it once.
      var now = Date.now();
      if (lastWheel.key === kind + cell && now - lastWheel.at < 250) { lastWheel.at = now; return; }
      lastWheel = { at: now, key: kind + cell };
      cursor = cell;
      record(kind, cell);
    }, { passive: false });
    pad.addEventListener("keydown", function (e) {
      var k = e.key;
      var row = Math.floor((cursor - 1) / 3), col = (cursor - 1) % 3;
      var handled = true;
      if (k === "ArrowUp") { row = Math.max(0, row - 1); }
      else if (k === "ArrowDown") { row = Math.min(2, row + 1); }
      else if (k === "ArrowLeft") { col = Math.max(0, col - 1); }
      else if (k === "ArrowRight") { col = Math.min(2, col + 1); }
      else if (/^[1-9]$/.test(k)) { cursor = Number(k); row = -1; }
      else if (k === "Enter" || k === " ") { record("click", cursor); }
      else if (k === "d" || k === "D") { record("dblclick", cursor); }
      else if (k === "r" || k === "R") { record("rightclick", cursor); }
      else if (k === "u" || k === "U") { record("scrollup", cursor); }
      else if (k === "n" || k === "N") { record("scrolldown", cursor); }
      else if (k === "Backspace") { events.pop(); }
      else if (k === "Escape") { events = []; }
      else { handled = false; }
      if (!handled) { return; }
      e.preventDefault();
      if (row >= 0) { cursor = row * 3 + col + 1; }
      render();
    });
    var clear = document.getElementById(pad.getAttribute("data-clear"));
    if (clear) { clear.addEventListener("click", function () { events = []; render(); pad.focus(); }); }
    var form = field.form;
    if (form) {
      form.addEventListener("submit", function (e) {
        if (events.length < 6) {
          e.preventDefault();
          status.textContent = "Record at least 6 events first.";
          pad.focus();
        }
      });
    }
    render();
  }
  var pads = document.querySelectorAll(".gesture-pad");
  for (var i = 0; i < pads.length; i++) { setup(pads[i]); }
})();
