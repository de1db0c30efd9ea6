'use strict';
// The pages in a real headless Chromium, as a person uses them:
//   sign up (a refused password first) → the verification mail → confirm the address →
//   sign in → set up an authenticator app from the QR page (the code computed here from the
//   secret the page shows) → sign out → sign in with the password and a code from the factor
//   picker, by keyboard → recovery codes → sign out → sign in with a recovery code → sign out.
// Screenshots of the main pages go to <screenshot-dir>.
//
// Usage: node pages.js <base-url> <maildir> <screenshot-dir>
// Run by crates/portcullis-server/tests/browser.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const {
  launch, base32Decode, totpAt, currentStep, selfTestTotp, waitForLink, mailsTo, check, checkAccessible,
} = require('./lib');

const [base, maildir, shots] = process.argv.slice(2);
if (!base || !maildir || !shots) {
  console.error('usage: node pages.js <base-url> <maildir> <screenshot-dir>');
  process.exit(2);
}

const started = Date.now();
let steps = 0;
function step(name) {
  steps += 1;
  console.log(`ok ${steps} - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

async function heading(page) {
  return (await page.textContent('h1')).trim();
}

async function signInWithPassword(page, email, password) {
  await page.goto(`${base}/signin`);
  // Keyboard only: type the address, Tab to the password, Enter submits.
  await page.focus('#email');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.id) === 'password', 'Tab moves to the password');
  await page.keyboard.type(password);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);
  check(new URL(page.url()).pathname === '/signin', `signed out to /signin, at ${page.url()}`);
  check((await page.textContent('[role=status]')).includes('signed out'), 'the sign-out notice');
  // The cookies are gone: the security page sends us back to sign in.
  await page.goto(`${base}/security`);
  check(new URL(page.url()).pathname === '/signin', 'no session after signing out');
}

async function main() {
  selfTestTotp();
  fs.mkdirSync(shots, { recursive: true });
  const email = `browser.${Date.now()}.${process.pid}@example.com`;
  const password = `Portcullis-${require('node:crypto').randomBytes(6).toString('hex')}-gate`;

  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  // Documents answered 4xx on purpose (a refused form) log "Failed to load resource"; the
  // response handler below checks every other resource.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });

  try {
    // --- sign up ------------------------------------------------------------------------------
    await page.goto(`${base}/signup`);
    check(await heading(page) === 'Create an account', 'sign-up page');
    await checkAccessible(page);
    const css = await page.evaluate(() => getComputedStyle(document.querySelector('button')).backgroundColor);
    check(css !== 'rgba(0, 0, 0, 0)' && css !== 'rgb(239, 239, 239)', `the stylesheet applies (button ${css})`);
    await shot(page, '01-signup');
    step('sign-up page');

    await page.fill('#email', email);
    await page.fill('#password', 'password');
    const refused = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(refused[0].status() === 422, `a weak password is refused with 422, got ${refused[0].status()}`);
    const passwordError = await page.textContent('#password-error');
    check(passwordError.trim().length > 0, 'the refusal is shown beside the password');
    check(await page.getAttribute('#password', 'aria-invalid') === 'true', 'the password field is marked invalid');
    check(await page.getAttribute('#password', 'aria-describedby') === 'password-hint password-error', 'the error describes the field');
    check(await page.inputValue('#email') === email, 'the e-mail address is kept');
    check(await page.inputValue('#password') === '', 'the password is not sent back');
    await shot(page, '02-signup-refused');
    step(`weak password refused beside the field: "${passwordError.trim()}"`);

    await page.fill('#password', password);
    await page.fill('#display_name', 'Browser Test');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(await heading(page) === 'Check your mail', 'check-your-mail page');
    step('signed up');

    // --- verify the address from the mail -----------------------------------------------------------
    const link = await waitForLink(maildir, email, base, 'verify-email');
    await page.goto(link);
    await checkAccessible(page);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(await heading(page) === 'E-mail address verified', `verified, got "${await heading(page)}"`);
    step('address verified from the mail link');

    // --- sign in, set up an authenticator app -------------------------------------------------
    await page.goto(`${base}/signin`);
    check(await heading(page) === 'Sign in', 'sign-in page');
    await checkAccessible(page);
    await shot(page, '03-signin');
    await page.fill('#email', email);
    await page.fill('#password', 'not the password');
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
    check((await page.textContent('[role=alert]')).includes('not right'), 'a wrong password is refused');
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
    check(new URL(page.url()).pathname === '/security', `signed in to /security, at ${page.url()}`);
    check(await heading(page) === 'Security', 'security page');
    check((await page.textContent('main')).includes(email), 'the page names the account');
    await checkAccessible(page);
    const cookies = await context.cookies();
    const at = cookies.find((c) => c.name === 'portcullis_at');
    check(at && at.httpOnly && at.sameSite === 'Strict', `HttpOnly SameSite=Strict access cookie: ${JSON.stringify(at)}`);
    check(cookies.some((c) => c.name === 'portcullis_rt' && c.httpOnly), 'refresh cookie');
    await shot(page, '04-security');
    step('signed in with the password');

    await page.fill('#totp-label', 'Test phone');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/totp"] button')]);
    check(await heading(page) === 'Set up an authenticator app', 'enrolment page');
    await checkAccessible(page);
    const qr = await page.evaluate(() => {
      const img = document.querySelector('img.qr');
      return img && { loaded: img.complete && img.naturalWidth > 0, src: img.src.slice(0, 22), alt: img.alt };
    });
    check(qr && qr.loaded && qr.src === 'data:image/png;base64,' && qr.alt, `the QR code shows: ${JSON.stringify(qr)}`);
    const secret = (await page.textContent('#totp-secret')).trim();
    const key = base32Decode(secret);
    check(key.length >= 16, `a secret of at least 128 bits (${key.length} bytes)`);
    await shot(page, '05-security-qr');
    await page.fill('#code', totpAt(key, currentStep()));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/totp/confirm"] button')]);
    check(new URL(page.url()).pathname === '/security', `back on /security, at ${page.url()}`);
    check((await page.textContent('[role=status]')).includes('authenticator app is set up'), 'enrolment notice');
    check((await page.textContent('#factors + table')).includes('Test phone'), 'the app is listed');
    step('authenticator app set up from the QR page');

    await signOut(page);
    step('signed out');

    // --- password, then the factor picker, by keyboard ----------------------------------------------
    await signInWithPassword(page, email, password);
    check(new URL(page.url()).pathname === '/signin/factor', `factor picker, at ${page.url()}`);
    check(await heading(page) === 'Confirm it is you', 'factor picker heading');
    await checkAccessible(page);
    check(await page.evaluate(() => document.activeElement.id) === 'totp-code', 'the code field has the focus');
    await shot(page, '06-factor-picker');
    await page.keyboard.type('000000');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    check((await page.textContent('#totp-error')).includes('not valid'), 'a wrong code is refused beside the field');
    // The code of the next 30-second step: the one used to confirm cannot be replayed.
    await page.focus('#totp-code');
    await page.keyboard.type(totpAt(key, currentStep() + 1));
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    check(new URL(page.url()).pathname === '/security', `signed in with a code, at ${page.url()}`);
    step('signed in with the password and an authenticator code');

    // --- recovery codes -------------------------------------------------------------------------------
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/recovery-codes"] button')]);
    check(await heading(page) === 'Your recovery codes', 'recovery codes page');
    const codes = await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent.trim()));
    check(codes.length === 10 && new Set(codes).size === 10, `ten distinct codes: ${codes}`);
    await shot(page, '07-recovery-codes');
    await page.click('text=I have stored them');
    check((await page.textContent('main')).includes('10 unused recovery code(s)'), 'ten codes left');
    check((await page.textContent('#sessions + table')).includes('This browser'), 'the session list marks this browser');
    step('recovery codes generated');

    await signOut(page);

    // --- a recovery code instead of the app ---------------------------------------------------------
    await signInWithPassword(page, email, password);
    check(new URL(page.url()).pathname === '/signin/factor', 'factor picker again');
    await page.fill('#recovery_code-code', codes[0]);
    await Promise.all([page.waitForNavigation(), page.click('form:has(#recovery_code-code) button')]);
    check(new URL(page.url()).pathname === '/security', `signed in with a recovery code, at ${page.url()}`);
    check((await page.textContent('main')).includes('9 unused recovery code(s)'), 'nine codes left');
    const deadline = Date.now() + 15_000;
    while (!mailsTo(maildir, email).some((m) => /recovery code was used/i.test(m.headers.subject || ''))) {
      check(Date.now() < deadline, 'the owner is told by mail that a recovery code was used');
      await new Promise((r) => setTimeout(r, 100));
    }
    step('signed in with a recovery code; the owner was told by mail');

    await signOut(page);
    step('signed out again');
    check(problems.length === 0, `no console errors, CSP reports or failed requests:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    await shot(page, '99-failure').catch(() => {});
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
