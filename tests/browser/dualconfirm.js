'use strict';
// DualConfirm's consoles in a real headless Chromium, an advisor and a client in two browser
// contexts (two separate cookie jars, as two people):
//   both sign in and follow the link on /security to /dualconfirm → the advisor selects the
//   client → both see words, the advisor's word to say being the client's word to expect and
//   the other way round, with the other party present and a countdown → a rotation (the
//   server runs a 4-second window) updates both pages live, without a reload → the client
//   checks the advisor's word: a match → the client checks a wrong word: the ADVISOR's page
//   shows the alert → the access tokens expire (30 s): each console renews its cookie and
//   reconnects by itself, and the words come back.
// Screenshots of both consoles go to <screenshot-dir>.
//
// The accounts (an advisor and a client, paired) are made by the Rust test, which writes
// their e-mail addresses and passwords to <screenshot-dir>/accounts.json:
//   {"advisor": {"email", "password", "name"}, "client": {"email", "password", "name"}}
// The client's display name is markup (`<b>…</b> & …`): the pages must show it as text.
//
// Usage: node dualconfirm.js <base-url> <maildir> <screenshot-dir>
// Run by crates/portcullis-server/tests/browser.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const { launch, check } = require('./lib');

const [base, maildir, shots] = process.argv.slice(2);
if (!base || !maildir || !shots) {
  console.error('usage: node dualconfirm.js <base-url> <maildir> <screenshot-dir>');
  process.exit(2);
}

const started = Date.now();
let steps = 0;
function step(name) {
  steps += 1;
  console.log(`ok ${steps} - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

function pathOf(page) {
  return new URL(page.url()).pathname;
}

// A page that records what should never happen: script errors, failed requests, errors.
async function openPage(browser, who, problems) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${who} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${who} page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`${who} request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${who}: ${r.status()} for ${r.url()}`);
  });
  return page;
}

async function signIn(page, email, password) {
  await page.goto(`${base}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
  check(pathOf(page) === '/security', `signed in to /security, at ${page.url()}`);
}

// The console's frame: one h1, labels, named buttons, and no script but the console's own.
async function checkConsole(page, role) {
  const report = await page.evaluate(() => {
    const root = document.getElementById('dualconfirm');
    return {
      lang: document.documentElement.lang,
      h1: document.querySelectorAll('h1').length,
      console: root && root.dataset.console,
      unlabelled: [...document.querySelectorAll('input:not([type=hidden])')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.id || el.name),
      unnamedButtons: [...document.querySelectorAll('button')]
        .filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).length,
      scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
    };
  });
  check(report.lang === 'en', `<html lang> on the ${role} console`);
  check(report.h1 === 1, `one <h1> on the ${role} console`);
  check(report.console === role, `the ${role} console, got ${report.console}`);
  check(report.unlabelled.length === 0, `labels for ${report.unlabelled.join(', ')}`);
  check(report.unnamedButtons === 0, 'every button has a name');
  check(
    report.scripts.length === 1 && report.scripts[0] === '/assets/dualconfirm.js',
    `only /assets/dualconfirm.js, got ${JSON.stringify(report.scripts)}`,
  );
}

// What a console shows for the selected pair.
async function shown(page) {
  return page.evaluate(() => {
    const root = document.getElementById('dualconfirm');
    const text = (sel) => (document.querySelector(sel) || { textContent: '' }).textContent.trim();
    return {
      window: root.dataset.window,
      connects: Number(root.dataset.connects),
      say: text('[data-test=say]'),
      expect: text('[data-test=expect]'),
      countdown: text('[data-test=countdown]'),
      presence: document.querySelector('#dc-presence .dc-dot').dataset.presence,
      session: document.getElementById('dc-panel').dataset.session,
      noReload: window.__dcNoReload === true,
    };
  });
}

async function waitForWords(page, after) {
  await page.waitForFunction(
    (w) => {
      const root = document.getElementById('dualconfirm');
      const say = document.querySelector('[data-test=say]').textContent.trim();
      return root.dataset.window !== '' && Number(root.dataset.window) > w && say !== '—';
    },
    after,
    { timeout: 15_000 },
  );
}

// Both consoles' words of one window (a rotation may fall between two reads: read again).
async function bothWords(advisor, client, after = -1) {
  await Promise.all([waitForWords(advisor, after), waitForWords(client, after)]);
  for (let i = 0; i < 20; i++) {
    const a = await shown(advisor);
    const c = await shown(client);
    if (a.window === c.window && a.session === 'live' && c.session === 'live') return { a, c };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the two consoles never showed the same window');
}

function checkMirrored({ a, c }, when) {
  check(/^\p{L}+$/u.test(a.say) && /^\p{L}+$/u.test(a.expect), `${when}: words shown (${a.say}, ${a.expect})`);
  check(a.say === c.expect, `${when}: the advisor says what the client expects (${a.say} / ${c.expect})`);
  check(c.say === a.expect, `${when}: the client says what the advisor expects (${c.say} / ${a.expect})`);
  check(a.say !== a.expect, `${when}: two different words`);
}

async function checkWord(page, word) {
  await page.fill('#dc-heard', word);
  // By keyboard: Enter in the field submits.
  await page.press('#dc-heard', 'Enter');
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-test=verdict]').dataset.verdict;
    return v && v !== 'pending';
  });
  return page.$eval('[data-test=verdict]', (el) => ({ kind: el.dataset.verdict, text: el.textContent.trim() }));
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const accounts = JSON.parse(fs.readFileSync(path.join(shots, 'accounts.json'), 'utf8'));
  const browser = await launch();
  const problems = [];
  const advisor = await openPage(browser, 'advisor', problems);
  const client = await openPage(browser, 'client', problems);

  try {
    // --- both sign in and open the console from /security ---------------------------------
    for (const [page, who] of [[advisor, 'advisor'], [client, 'client']]) {
      await signIn(page, accounts[who].email, accounts[who].password);
      await Promise.all([page.waitForNavigation(), page.click('[data-test=dualconfirm-link]')]);
      check(pathOf(page) === '/dualconfirm', `the ${who} follows the link to /dualconfirm, at ${page.url()}`);
      check((await page.textContent('h1')).trim() === 'DualConfirm', `the ${who}'s console heading`);
      await checkConsole(page, who);
    }
    step('advisor and client signed in and opened /dualconfirm from /security');

    // The client's console shows its one advisor at once; the advisor picks the client.
    check(
      (await client.textContent('[data-test=party-name]')).trim() === accounts.advisor.name,
      'the client console names the advisor',
    );
    check(await advisor.isHidden('[data-test=panel]'), 'no pair selected on the advisor console yet');
    check(await advisor.isVisible('[data-test=choose]'), 'the advisor is asked to select a client');
    const party = '[data-test=party]';
    check(
      (await advisor.textContent(`${party} .dc-name`)).trim() === accounts.client.name,
      `the advisor's list names the client as text: "${await advisor.textContent(party)}"`,
    );
    await advisor.waitForSelector(`${party} .dc-dot[data-presence=here]`);
    check(
      (await advisor.textContent(`${party} [data-test=party-presence]`)).trim() === 'connected',
      'the client shows as connected in the advisor list',
    );
    await advisor.click(party);
    check(await advisor.getAttribute(party, 'aria-pressed') === 'true', 'the client is selected');
    check(
      (await advisor.textContent('[data-test=party-name]')).trim() === accounts.client.name,
      'the advisor console names the client',
    );
    check(await advisor.$$eval('main b', (els) => els.length) === 0, 'no markup from a name reaches the page');
    step('the advisor selected the client (shown as present)');

    // --- matching words ---------------------------------------------------------------------------
    const first = await bothWords(advisor, client);
    checkMirrored(first, 'first window');
    for (const [s, who] of [[first.a, 'advisor'], [first.c, 'client']]) {
      check(s.presence === 'here', `the ${who} sees the other party present, got ${s.presence}`);
      const m = s.countdown.match(/^New words in (\d+) s$|^New words any moment/);
      check(m && (m[1] === undefined || Number(m[1]) <= 4), `${who} countdown: "${s.countdown}"`);
    }
    await shot(advisor, '31-advisor-console');
    await shot(client, '32-client-console');
    step(`matching words: advisor says "${first.a.say}", client says "${first.c.say}" (window ${first.a.window})`);

    // --- a rotation reaches both pages live ------------------------------------------------------
    await advisor.evaluate(() => { window.__dcNoReload = true; });
    await client.evaluate(() => { window.__dcNoReload = true; });
    const second = await bothWords(advisor, client, Number(first.a.window));
    checkMirrored(second, 'after the rotation');
    check(
      second.a.say !== first.a.say || second.a.expect !== first.a.expect,
      `new words after the rotation (${first.a.say}/${first.a.expect} → ${second.a.say}/${second.a.expect})`,
    );
    check(second.a.noReload && second.c.noReload, 'the words changed without a reload');
    step(`rotation to window ${second.a.window} on both pages: "${second.a.say}" / "${second.c.say}"`);

    // --- the client checks the advisor's word ----------------------------------------------------
    const heard = (await shown(client)).expect;
    const ok = await checkWord(client, heard.toUpperCase());
    check(ok.kind === 'match', `the advisor's word matches: ${JSON.stringify(ok)}`);
    check(ok.text.includes('Match'), `the verdict says so: "${ok.text}"`);
    check(await advisor.isHidden('[data-test=alert]'), 'no alert for a match');
    await shot(client, '33-client-match');
    step(`the client checked "${heard}": match`);

    // --- a wrong word alerts the advisor ---------------------------------------------------------
    const wrong = await checkWord(client, 'notaword');
    check(wrong.kind === 'mismatch', `a wrong word is a mismatch: ${JSON.stringify(wrong)}`);
    await advisor.waitForSelector('[data-test=alert]', { state: 'visible', timeout: 5_000 });
    const alert = (await advisor.textContent('[data-test=alert]')).trim();
    check(
      alert.includes('The client heard a wrong word — the caller may not be who they claim'),
      `the advisor's alert: "${alert}"`,
    );
    check(alert.includes(accounts.client.name), `the alert names the client as text: "${alert}"`);
    check(await advisor.$$eval('main b', (els) => els.length) === 0, 'no markup from a name in the alert');
    check(await advisor.getAttribute('[data-test=alert]', 'role') === 'alert', 'the alert is announced');
    check(await advisor.getAttribute(party, 'data-alert') === 'true', 'the client is flagged in the list');
    check((await advisor.title()).startsWith('⚠'), 'the tab title shows the alert');
    check(await client.isHidden('[data-test=alert]'), 'the client, who checked, is not alerted');
    await shot(client, '34-client-mismatch');
    await shot(advisor, '35-advisor-alert');
    await advisor.click('[data-test=alert] button');
    check(await advisor.isHidden('[data-test=alert]'), 'the alert is dismissed');
    step('a wrong word: mismatch for the client, an alert on the advisor console');

    // --- token expiry: the consoles renew the cookie and reconnect -------------------------------
    for (const [page, who] of [[advisor, 'advisor'], [client, 'client']]) {
      await page.waitForFunction(
        () => Number(document.getElementById('dualconfirm').dataset.connects) >= 2,
        undefined,
        { timeout: 60_000 },
      ).catch((e) => { throw new Error(`the ${who} console did not reconnect: ${e.message}`); });
    }
    const current = Math.max(Number((await shown(advisor)).window) || 0, Number((await shown(client)).window) || 0);
    const third = await bothWords(advisor, client, current - 1);
    checkMirrored(third, 'after reconnecting');
    check(third.a.noReload && third.c.noReload, 'reconnected without a reload');
    const cookies = await client.context().cookies();
    check(cookies.some((c) => c.name === 'portcullis_at'), 'the client has a fresh access cookie');
    step(`access tokens expired: both consoles renewed the cookie and reconnected (window ${third.a.window})`);

    check(problems.length === 0, `no browser problems:\n  ${problems.join('\n  ')}`);
    console.log(`# ${steps} steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    await shot(advisor, '99-failure-advisor').catch(() => {});
    await shot(client, '99-failure-client').catch(() => {});
    if (problems.length) console.error(`browser problems:\n  ${problems.join('\n  ')}`);
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`not ok - ${e.stack || e}`);
  process.exit(1);
});
