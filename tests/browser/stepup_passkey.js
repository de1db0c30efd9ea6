'use strict';
// Passkey step-up on the pages in a real headless Chromium, with a virtual authenticator (CDP
// `WebAuthn`): sign in with the password → add a passkey on /security → let the session go
// stale → ask for new recovery codes (a factor change) → the step-up page offers the passkey
// → the authenticator signs → the session is raised (aal2) → the change goes through.
// The relying party is `localhost`, so the site is opened as http://localhost:PORT.
//
// Usage: node stepup_passkey.js <base-url> <maildir> <screenshot-dir> <email> <password> <stale-ms>
// Run by crates/portcullis-server/tests/browser_enrolment.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const { launch, check, checkAccessible } = require('./lib');

const [base, , shots, email, password, staleMs] = process.argv.slice(2);
if (!base || !shots || !email || !password || !staleMs) {
  console.error('usage: node stepup_passkey.js <base-url> <maildir> <screenshot-dir> <email> <password> <stale-ms>');
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

const heading = async (page) => (await page.textContent('h1')).trim();
const pathOf = (page) => new URL(page.url()).pathname;

async function passkeyButton(page, selector, expectedPath) {
  await Promise.all([
    page.waitForURL((url) => url.pathname === expectedPath, { timeout: 15_000 }),
    page.click(selector),
  ]).catch(async (e) => {
    const error = await page.$eval('[data-passkey-error]', (el) => el.textContent).catch(() => '');
    throw new Error(`${e.message}; the page says: "${error}"`);
  });
}

async function accessClaims(context) {
  const at = (await context.cookies()).find((c) => c.name === 'portcullis_at');
  return JSON.parse(Buffer.from(at.value.split('.')[1], 'base64url').toString());
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
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
    await page.goto(`${site}/signin`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
    check(pathOf(page) === '/security', `signed in, at ${page.url()}`);
    await page.fill('#passkey-label', 'Virtual key');
    await passkeyButton(page, 'form[data-passkey=register] button', '/security');
    // The authenticator reports its new credential a moment after the page moved on.
    let before = [];
    for (let i = 0; i < 50 && before.length === 0; i++) {
      before = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      if (before.length === 0) await page.waitForTimeout(100);
    }
    const listed = await page.textContent('#factors + table').catch(() => '');
    check(listed.includes('Virtual key'), `the passkey is listed: ${listed}`);
    check(before.length === 1, `one credential, got ${before.length}`);
    check((await accessClaims(context)).acr === 'aal1', 'the password session is aal1');
    step('signed in with the password and added a passkey');

    await page.waitForTimeout(Number(staleMs));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/recovery-codes"] button')]);
    check(await heading(page) === 'Confirm it is you', `the step-up page, got "${await heading(page)}"`);
    check(await page.isVisible('form[data-passkey=stepup] button'), 'the step-up page offers the passkey');
    await checkAccessible(page);
    await shot(page, '51-step-up-passkey');
    step('a factor change on the stale session asks for a step-up, offering the passkey');

    await passkeyButton(page, 'form[data-passkey=stepup] button', '/security');
    check(new URL(page.url()).searchParams.get('notice') === 'stepped-up', `stepped up, at ${page.url()}`);
    const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0];
    check(after.signCount > before[0].signCount, `the authenticator signed (${before[0].signCount} → ${after.signCount})`);
    const claims = await accessClaims(context);
    check(claims.acr === 'aal2', `the session is raised to aal2: ${JSON.stringify(claims.amr)}`);
    await shot(page, '52-stepped-up');
    step('the passkey raised the session');

    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/recovery-codes"] button')]);
    check((await page.textContent('main')).includes('Your recovery codes'), `the change went through: ${await heading(page)}`);
    await shot(page, '53-change-after-step-up');
    step('the factor change went through after the step-up');
    check(problems.length === 0, `no console errors or failed requests:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    await shot(page, '99-stepup-failure').catch(() => {});
    console.error(`at ${page.url()}:`);
    throw e;
  } finally {
    await browser.close();
  }
  console.log(`all ${steps} step-up steps passed`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
