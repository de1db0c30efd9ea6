'use strict';
// Enrolment at sign-in in a real headless Chromium: an administrator whose role requires two
// factors and who has none signs in with the password, lands on /signin/enrol (not on
// /security), sets up an authenticator app from the secret the page shows, and its first code
// finishes the sign-in into an ordinary session at aal2; the restricted cookie is gone and
// the next sign-in asks for the new factor.
//
// Usage: node enrol.js <base-url> <maildir> <screenshot-dir> <email> <password>
// Run by crates/portcullis-server/tests/browser_enrolment.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const { launch, base32Decode, totpAt, currentStep, check, checkAccessible } = require('./lib');

const [base, , shots, email, password] = process.argv.slice(2);
if (!base || !shots || !email || !password) {
  console.error('usage: node enrol.js <base-url> <maildir> <screenshot-dir> <email> <password>');
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

const heading = async (page) => (await page.textContent('h1')).trim();
const pathOf = (page) => new URL(page.url()).pathname;

async function signIn(page) {
  await page.goto(`${base}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  try {
    await signIn(page);
    check(pathOf(page) === '/signin/enrol', `the enrolment page, at ${page.url()}`);
    check(await heading(page) === 'Set up a second factor', `heading: ${await heading(page)}`);
    await checkAccessible(page);
    const cookies = await context.cookies();
    const restricted = cookies.find((c) => c.name === 'portcullis_enrol');
    check(restricted && restricted.httpOnly && restricted.sameSite === 'Strict' && restricted.path === '/signin/enrol',
      `a path-scoped HttpOnly restricted cookie: ${JSON.stringify(restricted)}`);
    check(!cookies.some((c) => c.name === 'portcullis_at' || c.name === 'portcullis_rt'), 'no session cookies yet');
    await shot(page, '41-enrol-required');
    // The restricted sign-in opens nothing else.
    await page.goto(`${base}/security`);
    check(pathOf(page) === '/signin', `no session for /security, at ${page.url()}`);
    await page.goto(`${base}/signin/enrol`);
    step('the password leads to the enrolment page, and only there');

    await Promise.all([page.waitForNavigation(), page.click('form[action="/signin/enrol/totp"] button')]);
    check(await page.isVisible('img.qr'), 'the QR code is shown');
    const key = base32Decode((await page.textContent('#totp-secret')).trim());
    check(key.length >= 16, `a secret of at least 128 bits (${key.length} bytes)`);
    await checkAccessible(page);
    await shot(page, '42-enrol-totp');
    await page.fill('#code', totpAt(key, currentStep() + 5));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/signin/enrol/confirm"] button')]);
    check((await page.textContent('#code-error')).includes('not valid'), 'a wrong code is refused beside the field');
    await page.fill('#code', totpAt(key, currentStep()));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/signin/enrol/confirm"] button')]);
    check(pathOf(page) === '/security', `signed in to /security, at ${page.url()}`);
    check(await heading(page) === 'Security', 'the security page');
    const listed = await page.textContent('main');
    check(listed.includes('Authenticator app'), 'the authenticator is listed');
    const after = await context.cookies();
    check(!after.some((c) => c.name === 'portcullis_enrol'), 'the restricted cookie is gone');
    const at = after.find((c) => c.name === 'portcullis_at');
    const claims = JSON.parse(Buffer.from(at.value.split('.')[1], 'base64url').toString());
    check(claims.acr === 'aal2' && claims.amr.join(',') === 'pwd,otp', `a full session: ${claims.acr} ${claims.amr}`);
    await shot(page, '43-enrolled-security');
    step('set up the authenticator app; its first code signed in at aal2');

    await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);
    await signIn(page);
    check(pathOf(page) === '/signin/factor', `the next sign-in asks for the factor, at ${page.url()}`);
    step('the next sign-in asks for the new factor');
    check(problems.length === 0, `no console errors:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    await shot(page, '99-enrol-failure').catch(() => {});
    console.error(`at ${page.url()}:`);
    throw e;
  } finally {
    await browser.close();
  }
  console.log(`all ${steps} enrolment steps passed`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
