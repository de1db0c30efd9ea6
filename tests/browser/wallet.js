'use strict';
// Sign in with Ethereum through the pages in a real headless Chromium, with an injected
// EIP-1193 provider (window.ethereum) backed by a known key: ethers v6 signs in Node, the
// page reaches it through an exposed function, as an extension's content script would.
//   password → /security → "Bind an Ethereum wallet" (the wallet signs the binding message)
//   → sign out → password → the factor picker offers the wallet → "Sign in with Ethereum" →
//   /security → sign out;
//   then, in a fresh browser, a provider holding another key: the page says which account
//   to choose and stays on the picker.
//
// Usage: node wallet.js <base-url> <maildir> <screenshot-dir> <email> <password> <key> <other-key>
// Run by crates/portcullis-server/tests/browser_wallet.rs; exits 0 when every step passed.

const path = require('node:path');
const { ethers } = require('ethers');
const { launch, check, checkAccessible } = require('./lib');

const [base, , shots, email, password, key, otherKey] = process.argv.slice(2);
if (!base || !shots || !email || !password || !key || !otherKey) {
  console.error('usage: node wallet.js <base-url> <maildir> <screenshot-dir> <email> <password> <key> <other-key>');
  process.exit(2);
}

const started = Date.now();
let steps = 0;
function step(name) {
  steps += 1;
  console.log(`ok ${steps} - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

// The provider a wallet extension injects, reduced to what signing in needs.
const PROVIDER = `
window.ethereum = {
  isPortcullisTest: true,
  async request({ method, params }) {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') {
      return [await window.__walletAddress()];
    }
    if (method === 'personal_sign') {
      const [hex, account] = params;
      return window.__walletSign(hex, account);
    }
    throw Object.assign(new Error('unsupported ' + method), { code: 4200 });
  },
};`;

async function browserWith(browser, signer) {
  const context = await browser.newContext();
  await context.exposeFunction('__walletAddress', () => signer.address);
  await context.exposeFunction('__walletSign', async (hex, account) => {
    if (account.toLowerCase() !== signer.address.toLowerCase()) {
      throw new Error('personal_sign for an account this wallet does not hold');
    }
    return signer.signMessage(ethers.getBytes(hex));
  });
  await context.addInitScript(PROVIDER);
  return context.newPage();
}

async function toPicker(page) {
  await page.goto(`${base}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
  check(new URL(page.url()).pathname === '/signin/factor', `at the picker, got ${page.url()}`);
  check(await page.isVisible('form[data-wallet] button'), 'the picker offers the wallet');
}

(async () => {
  const browser = await launch();
  try {
    const wallet = new ethers.Wallet(key);
    // ethers' EIP-191 against the published vector of this key (eth-account's, in core).
    const hello = await wallet.signMessage('hello world');
    check(hello.startsWith('0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf1'), 'ethers signs EIP-191 as eth-account does');
    step('ethers v6 wallet ready: ' + wallet.address);

    const page = await browserWith(browser, wallet);
    await page.goto(`${base}/signin`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
    check(new URL(page.url()).pathname === '/security', `password-only sign-in, at ${page.url()}`);
    await page.fill('#wallet-label', 'Test wallet');
    await Promise.all([
      page.waitForURL(/notice=wallet-bound/, { timeout: 20000 }),
      page.click('form[data-wallet="bind"] button'),
    ]);
    const table = await page.textContent('main table');
    check(table.includes('Wallet') && table.includes('Test wallet') && table.includes('in use'), `the wallet is listed in use: ${table}`);
    await checkAccessible(page);
    await page.screenshot({ path: path.join(shots, 'wallet-bound.png'), fullPage: true });
    step('bound the wallet on /security');
    await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);

    await toPicker(page);
    await checkAccessible(page);
    await page.screenshot({ path: path.join(shots, 'wallet-picker.png'), fullPage: true });
    step('password accepted; the picker offers "Sign in with Ethereum"');
    await Promise.all([
      page.waitForURL(`${base}/security`, { timeout: 20000 }),
      page.click('form[data-wallet] button'),
    ]);
    check((await page.textContent('h1')).trim() === 'Security', 'signed in to /security');
    await page.screenshot({ path: path.join(shots, 'wallet-signed-in.png'), fullPage: true });
    step('the injected wallet signed both texts; signed in');
    // Signing out ends the wallet session: the ReqNFT burns, the wallet gets its next AuthNFT.
    await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);
    check(new URL(page.url()).pathname === '/signin', `signed out, at ${page.url()}`);
    step('signed out');

    const other = await browserWith(browser, new ethers.Wallet(otherKey));
    await toPicker(other);
    await other.click('form[data-wallet] button');
    await other.waitForSelector('[data-wallet-error]:not([hidden])', { timeout: 10000 });
    const said = (await other.textContent('[data-wallet-error]')).trim();
    check(said.includes(wallet.address), `the page names the bound account, said "${said}"`);
    check(new URL(other.url()).pathname === '/signin/factor', 'still at the picker');
    await other.screenshot({ path: path.join(shots, 'wallet-other-account.png'), fullPage: true });
    step('a wallet holding another account is told which one to use');
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(`not ok - ${e.message}`);
  process.exit(1);
});
