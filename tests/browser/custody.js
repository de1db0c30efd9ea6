'use strict';
// Custodial wallets on the pages in a real headless Chromium: sign in (password, then the
// authenticator code) → /security links to the wallets → the funded wallet shows its balance
// → a new wallet is created with the password (a wrong one is refused first) → a send with
// a wrong password is refused beside the form, a send of 0.5 ETH goes out → the page shows it
// mined, the balance lower and the transfer in the history.
//
// Usage: node custody.js <base-url> <maildir> <screenshot-dir> <email> <password> <totp-base32> <recipient>
// Run by crates/portcullis-server/tests/browser_custody.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const { launch, base32Decode, totpAt, currentStep, check, checkAccessible } = require('./lib');

const [base, , shots, email, password, secret, recipient] = process.argv.slice(2);
if (!base || !shots || !email || !password || !secret || !recipient) {
  console.error('usage: node custody.js <base-url> <maildir> <screenshot-dir> <email> <password> <totp-base32> <recipient>');
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
const pathOf = (page) => new URL(page.url()).pathname;
const text = async (page, selector) => (await page.textContent(selector)).trim();

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const page = await (await browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage();
  page.setDefaultTimeout(15_000);
  try {
    await page.goto(`${base}/signin`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
    check(pathOf(page) === '/signin/factor', `factor picker, at ${page.url()}`);
    await page.fill('#totp-code', totpAt(base32Decode(secret), currentStep() + 1));
    await Promise.all([page.waitForNavigation(), page.click('form:has(#totp-code) button')]);
    check(pathOf(page) === '/security', `signed in to /security, at ${page.url()}`);
    step('signed in with the password and the authenticator code');

    await Promise.all([page.waitForNavigation(), page.click('a[href="/security/wallets"]')]);
    check(pathOf(page) === '/security/wallets', `wallet list, at ${page.url()}`);
    check((await text(page, 'td[data-balance]')) === '5 ETH', 'the funded wallet shows 5 ETH');
    await checkAccessible(page);
    await shot(page, '41-wallet-list');
    step('the wallet list shows the funded wallet');

    await page.fill('#wallet-name', 'Browser wallet');
    await page.fill('#wallet-password', 'not my password at all');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/wallets"] button')]);
    check((await text(page, '.alert')).includes('password'), 'a wrong password is refused');
    await page.fill('#wallet-name', 'Browser wallet');
    await page.fill('#wallet-password', password);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/security/wallets"] button')]);
    check(/^\/security\/wallets\/[0-9a-f-]{36}$/.test(pathOf(page)), `the new wallet's page, at ${page.url()}`);
    check((await text(page, 'h1')) === 'Browser wallet', 'named as asked');
    check(/^0x[0-9a-fA-F]{40}$/.test(await text(page, '[data-address]')), 'it has an address');
    check((await text(page, '[data-balance]')).startsWith('0 ETH'), 'and nothing on it');
    await shot(page, '42-new-wallet');
    step('a wallet is created with the password (a wrong one refused)');

    await page.goto(`${base}/security/wallets`);
    await Promise.all([page.waitForNavigation(), page.click('tbody tr:first-child a')]);
    const funded = pathOf(page);
    await page.fill('#send-to', recipient);
    await page.fill('#send-amount', '0.5');
    await page.fill('#send-password', 'not my password at all');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/send"] button')]);
    check((await text(page, '.alert')).includes('password'), 'a send with a wrong password is refused');
    await page.fill('#send-to', recipient);
    await page.fill('#send-amount', '0,5');
    await page.fill('#send-password', password);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/send"] button')]);
    check((await text(page, '.alert')).includes('ETH'), 'an amount that is not a number is refused');
    step('refused sends say why beside the form');

    await page.fill('#send-to', recipient);
    await page.fill('#send-amount', '0.5');
    await page.fill('#send-password', password);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/send"] button')]);
    check(pathOf(page) === funded, `back on the wallet, at ${page.url()}`);
    check((await text(page, '.notice')).startsWith('Sent'), 'the page says it was sent');
    let status = '';
    for (let i = 0; i < 50 && status !== 'mined'; i += 1) {
      await page.goto(`${base}${funded}`);
      status = await text(page, '[data-sends] tbody tr:first-child [data-status]');
      if (status !== 'mined') await page.waitForTimeout(200);
    }
    check(status === 'mined', `the send is mined (status ${status})`);
    const balance = await text(page, '[data-balance]');
    check(balance.startsWith('4.49'), `the balance is lower by 0.5 ETH and the fee: ${balance}`);
    const history = await text(page, '[data-history] tbody tr:first-child');
    check(history.startsWith('sent') && history.includes('0.5 ETH'), `the history shows the send: ${history}`);
    await checkAccessible(page);
    await shot(page, '43-wallet-after-send');
    step('a send of 0.5 ETH is mined and shown');
  } catch (e) {
    await shot(page, '99-failure').catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
  console.log(`all ${steps} steps passed`);
}

main().catch((e) => {
  console.error(`not ok - ${e.stack || e}`);
  process.exit(1);
});
