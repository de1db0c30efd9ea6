'use strict';
// Passkeys through the pages in a real headless Chromium, with a virtual authenticator
// (Chrome DevTools Protocol, `WebAuthn` domain) standing in for a platform authenticator:
//   sign up → verify from the mail → sign in with the password → add a passkey on /security
//   → sign out → password, then the passkey in the factor picker → sign out → "Sign in with a
//   passkey" without a password (discoverable credential) → /security.
// The relying party is `localhost` (the server's default on an IP address), so the site is
// opened as http://localhost:PORT; the mail's links name the public URL and are rewritten.
//
// Usage: node passkeys.js <base-url> <maildir> <screenshot-dir>
// Run by crates/portcullis-server/tests/browser.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const { launch, waitForLink, check, checkAccessible } = require('./lib');

const [base, maildir, shots] = process.argv.slice(2);
if (!base || !maildir || !shots) {
  console.error('usage: node passkeys.js <base-url> <maildir> <screenshot-dir>');
  process.exit(2);
}
const site = (() => {
  const url = new URL(base);
  url.hostname = 'localhost';
  return url.origin;
})();

const started = Date.now();
let steps = 0;
function step(name) {
  steps += 1;
  console.log(`ok ${steps} - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function heading(page) {
  return (await page.textContent('h1')).trim();
}

function pathOf(page) {
  return new URL(page.url()).pathname;
}

async function signUpAndVerify(page, email, password) {
  await page.goto(`${site}/signup`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  check(await heading(page) === 'Check your mail', 'check-your-mail page');
  const link = await waitForLink(maildir, email, base, 'verify-email');
  await page.goto(link.replace(base, site));
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  check(await heading(page) === 'E-mail address verified', `verified, got "${await heading(page)}"`);
}

async function signInWithPassword(page, email, password) {
  await page.goto(`${site}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
}

async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);
  check(pathOf(page) === '/signin', `signed out to /signin, at ${page.url()}`);
  await page.goto(`${site}/security`);
  check(pathOf(page) === '/signin', 'no session after signing out');
}

// Clicks a passkey button; the script navigates when the ceremony is done.
async function passkeyButton(page, selector, expectedPath) {
  await Promise.all([
    page.waitForURL((url) => url.pathname === expectedPath, { timeout: 15_000 }),
    page.click(selector),
  ]).catch(async (e) => {
    const error = await page.$eval('[data-passkey-error]', (el) => el.textContent).catch(() => '');
    throw new Error(`${e.message}; the page says: "${error}"`);
  });
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const email = `passkey.${Date.now()}.${process.pid}@example.com`;
  const password = `Portcullis-${require('node:crypto').randomBytes(6).toString('hex')}-key`;

  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });

  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  try {
    await signUpAndVerify(page, email, password);
    step('signed up and verified the address');

    await signInWithPassword(page, email, password);
    check(pathOf(page) === '/security', `signed in to /security, at ${page.url()}`);
    await checkAccessible(page);
    const script = await page.evaluate(() => [...document.scripts].map((s) => s.src));
    check(script.includes(`${site}/assets/passkey.js`)
      && script.every((s) => [`${site}/assets/passkey.js`, `${site}/assets/gesture.js`, `${site}/assets/wallet.js`].includes(s)),
    `the passkey script loads (and only served scripts): ${script}`);
    step('signed in with the password');

    // --- add a passkey -------------------------------------------------------------------------
    await page.fill('#passkey-label', 'Virtual key');
    await passkeyButton(page, 'form[data-passkey=register] button', '/security');
    check((await page.textContent('[role=status]')).includes('passkey is added'), 'the passkey notice');
    const listed = await page.textContent('#factors + table');
    check(listed.includes('Virtual key') && listed.includes('Passkey'), `the passkey is listed: ${listed}`);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    check(credentials.length === 1 && credentials[0].isResidentCredential, `one discoverable credential: ${JSON.stringify(credentials.map((c) => c.isResidentCredential))}`);
    check(credentials[0].rpId === 'localhost', `relying party localhost, got ${credentials[0].rpId}`);
    const signCount = credentials[0].signCount;
    await shot(page, '21-security-passkey');
    step('passkey added on /security (discoverable, rp localhost)');

    await signOut(page);

    // --- password, then the passkey as second factor -----------------------------------------------
    await signInWithPassword(page, email, password);
    check(pathOf(page) === '/signin/factor', `factor picker, at ${page.url()}`);
    await checkAccessible(page);
    check(await page.isVisible('form[data-passkey=assert] button'), 'the picker offers the passkey');
    await shot(page, '22-factor-picker-passkey');
    await passkeyButton(page, 'form[data-passkey=assert] button', '/security');
    check(await heading(page) === 'Security', 'signed in with the passkey as second factor');
    const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0];
    check(after.signCount > signCount, `the authenticator signed (count ${signCount} → ${after.signCount})`);
    step('signed in with the password and the passkey');

    await signOut(page);

    // --- passwordless --------------------------------------------------------------------------------
    await page.goto(`${site}/signin`);
    await checkAccessible(page);
    await shot(page, '23-signin-passkey');
    await passkeyButton(page, 'form[data-passkey=signin] button', '/security');
    check(await heading(page) === 'Security', 'security page');
    check((await page.textContent('main')).includes(email), 'the page names the account');
    await shot(page, '24-security-after-passkey');
    step('signed in without a password with "Sign in with a passkey"');

    await signOut(page);
    step('signed out');
    check(problems.length === 0, `no console errors, CSP reports or failed requests:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    await shot(page, '99-passkey-failure').catch(() => {});
    console.error(`at ${page.url()}:`);
    throw e;
  } finally {
    await browser.close();
  }
  console.log(`all ${steps} passkey steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${shots}`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
