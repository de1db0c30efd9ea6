'use strict';
// Pattern OTP in a real headless Chromium, as a person uses it:
//   sign in (password only) → /security: "Send sign-in patterns to my e-mail address" → read
//   the pattern from the real mail → draw it on the pad with the mouse → confirmed → sign out
//   → sign in: password, "Send me a pattern", the mail, draw it with the mouse → signed in →
//   sign out → sign in again, this time drawing the pattern with the keyboard only.
// Screenshots of the pads go to <screenshot-dir>.
//
// Usage: node pattern.js <base-url> <maildir> <screenshot-dir> <email> <password>
// Run by crates/portcullis-server/tests/browser_pattern.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const { launch, mailsTo, check, checkAccessible } = require('./lib');

const [base, maildir, shots, email, password] = process.argv.slice(2);
if (!base || !maildir || !shots || !email || !password) {
  console.error('usage: node pattern.js <base-url> <maildir> <screenshot-dir> <email> <password>');
  process.exit(2);
}

const SUBJECT = 'Your Portcullis pattern';
const started = Date.now();
let steps = 0;
function step(name) {
  steps += 1;
  console.log(`ok ${steps} - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function heading(page) {
  return (await page.textContent('h1')).trim();
}

function patternMails() {
  return mailsTo(maildir, email).filter((m) => (m.headers.subject || '') === SUBJECT);
}

/// Waits for pattern mail number `index` (0-based) and reads its dots.
async function patternMail(index) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mails = patternMails();
    if (mails.length > index) {
      const m = /pattern: ([0-9-]+)/.exec(mails[index].body);
      check(m, `a pattern in the mail: ${mails[index].body}`);
      return m[1].split('-').map(Number);
    }
    check(Date.now() < deadline, `pattern mail #${index + 1} within 15 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function signIn(page) {
  await page.goto(`${base}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
}

async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);
  check(new URL(page.url()).pathname === '/signin', `signed out, at ${page.url()}`);
}

/// The pad's geometry in page pixels: n, and the centre of dot i.
async function padGeometry(page) {
  const svg = page.locator('.pattern-pad svg');
  const box = await svg.boundingBox();
  const n = Number(await page.getAttribute('.pattern-pad', 'data-size'));
  const unit = box.width / n;
  const at = (x, y) => ({ x: box.x + x * unit, y: box.y + y * unit });
  return { n, at, centre: (i) => at(((i - 1) % n) + 0.5, Math.floor((i - 1) / n) + 0.5) };
}

/// Draws `dots` in one stroke with the mouse. Between two dots the pointer leaves the first
/// one's cell by the corner facing the next, follows the lines between rows and columns
/// (half a dot spacing from every dot), and enters the next dot's cell by its facing corner,
/// so it passes near no other dot.
async function drawWithMouse(page, dots) {
  const { n, at, centre } = await padGeometry(page);
  const cell = (i) => ({ c: (i - 1) % n, r: Math.floor((i - 1) / n) });
  const start = centre(dots[0]);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  for (let k = 1; k < dots.length; k++) {
    const a = cell(dots[k - 1]);
    const b = cell(dots[k]);
    const ax = b.c > a.c ? a.c + 1 : a.c;
    const ay = b.r > a.r ? a.r + 1 : a.r;
    const bx = b.c > a.c ? b.c : b.c + 1;
    const by = b.r > a.r ? b.r : b.r + 1;
    for (const p of [at(ax, ay), at(bx, ay), at(bx, by), centre(dots[k])]) {
      await page.mouse.move(p.x, p.y, { steps: 6 });
    }
  }
  await page.mouse.up();
}

/// Draws `dots` with the keyboard: the pad has the focus; arrows move the cursor from dot 1,
/// Space takes a dot.
async function drawWithKeyboard(page, dots) {
  const n = Number(await page.getAttribute('.pattern-pad', 'data-size'));
  let at = { c: 0, r: 0 };
  for (const d of dots) {
    const to = { c: (d - 1) % n, r: Math.floor((d - 1) / n) };
    for (; at.c < to.c; at.c++) await page.keyboard.press('ArrowRight');
    for (; at.c > to.c; at.c--) await page.keyboard.press('ArrowLeft');
    for (; at.r < to.r; at.r++) await page.keyboard.press('ArrowDown');
    for (; at.r > to.r; at.r--) await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Space');
  }
}

async function drawnValue(page, input) {
  return page.$eval(input, (el) => el.value);
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });

  try {
    // --- enrol: a first pattern by e-mail, drawn with the mouse --------------------------------
    await signIn(page);
    check(new URL(page.url()).pathname === '/security', `signed in to /security, at ${page.url()}`);
    await Promise.all([
      page.waitForNavigation(),
      page.click('form[action="/security/pattern"] input[value=email] ~ button'),
    ]);
    check(await heading(page) === 'Confirm your pattern', `confirmation page, got "${await heading(page)}"`);
    await page.waitForSelector('.pattern-pad svg');
    check(await page.getAttribute('#pattern-code', 'type') === 'hidden', 'the pad replaces the text field');
    const dotCount = await page.locator('.pattern-pad .pad-dot').count();
    check(dotCount === 16, `a 4×4 pad, ${dotCount} dots`);
    await checkAccessible(page);
    const first = await patternMail(0);
    check(first.length === 6 && new Set(first).size === 6, `six distinct dots: ${first}`);
    const mailBody = patternMails()[0].body;
    check(/numbered 1 to 16 row by row/.test(mailBody), 'the mail says how the dots are numbered');
    await drawWithMouse(page, first);
    check(await drawnValue(page, '#pattern-code') === first.join('-'), `the pad wrote ${first.join('-')}, got ${await drawnValue(page, '#pattern-code')}`);
    check((await page.textContent('.pad-status')).includes('Drawn 6 of 6'), 'the pad says all six are drawn');
    await page.locator('.pattern-pad').screenshot({ path: path.join(shots, '31-pattern-pad-enrol.png') });
    await page.screenshot({ path: path.join(shots, '32-pattern-confirm-page.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/pattern/confirm"] button[type=submit]')]);
    check(new URL(page.url()).pathname === '/security', `back on /security, at ${page.url()}`);
    check((await page.textContent('[role=status]')).includes('Patterns are set up'), 'enrolment notice');
    check((await page.textContent('#factors + table')).includes('Pattern to draw'), 'the pattern OTP is listed');
    step('pattern OTP enrolled: the mailed pattern drawn with the mouse');
    await signOut(page);

    // --- sign in: password, then the pattern drawn with the mouse -----------------------------
    await signIn(page);
    check(new URL(page.url()).pathname === '/signin/factor', `factor picker, at ${page.url()}`);
    await Promise.all([page.waitForNavigation(), page.click('button[formaction="/signin/factor/send"]')]);
    check((await page.textContent('main')).includes('We sent you a pattern'), 'the picker says a pattern was sent');
    await page.waitForSelector('.pattern-pad svg');
    await checkAccessible(page);
    const second = await patternMail(1);
    // A wrong order first: refused beside the pad.
    await drawWithMouse(page, [...second].reverse());
    await Promise.all([page.waitForNavigation(), page.click('form:has(#pattern_otp-code) button[type=submit]:not([formaction])')]);
    check(new URL(page.url()).pathname === '/signin/factor', 'a pattern drawn backwards is refused');
    check((await page.textContent('#pattern_otp-error')).includes('not valid'), 'the refusal is shown beside the pad');
    await page.waitForSelector('.pattern-pad svg');
    await drawWithMouse(page, second);
    check(await drawnValue(page, '#pattern_otp-code') === second.join('-'), 'the pad wrote the mailed pattern');
    await page.locator('.pattern-pad').screenshot({ path: path.join(shots, '33-pattern-pad-signin.png') });
    await page.screenshot({ path: path.join(shots, '34-factor-picker-pattern.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('form:has(#pattern_otp-code) button[type=submit]:not([formaction])')]);
    check(new URL(page.url()).pathname === '/security', `signed in with the pattern, at ${page.url()}`);
    step('signed in with the password and a mailed pattern drawn with the mouse');
    await signOut(page);

    // --- sign in again, drawing with the keyboard only ----------------------------------------
    await signIn(page);
    await Promise.all([page.waitForNavigation(), page.click('button[formaction="/signin/factor/send"]')]);
    await page.waitForSelector('.pattern-pad svg');
    check(await page.evaluate(() => document.activeElement && document.activeElement.matches('.pattern-pad svg')), 'the pad has the focus');
    const third = await patternMail(2);
    await drawWithKeyboard(page, third);
    check(await drawnValue(page, '#pattern_otp-code') === third.join('-'), `the keyboard drew ${third.join('-')}`);
    await page.locator('.pattern-pad').screenshot({ path: path.join(shots, '35-pattern-pad-keyboard.png') });
    // Enter on a complete pattern submits the form.
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    check(new URL(page.url()).pathname === '/security', `signed in by keyboard, at ${page.url()}`);
    step('signed in with a mailed pattern drawn with the keyboard');
    await signOut(page);
    check(problems.length === 0, `no console errors, CSP reports or failed requests:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    await page.screenshot({ path: path.join(shots, '99-failure.png'), fullPage: true }).catch(() => {});
    console.error(`at ${page.url()}:`);
    throw e;
  } finally {
    await browser.close();
  }
  console.log(`all ${steps} steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${shots}`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
