'use strict';
// Helpers of the browser tests: the client side of TOTP (RFC 6238), reading the mail the
// server sent, launching Debian's Chromium, and small page checks.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function launch() {
  return chromium.launch({
    executablePath: process.env.PORTCULLIS_TEST_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

// RFC 4648 base32, as authenticator apps read the secret.
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of clean) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) for time step `step`; RFC 4226 truncation.
function totpAt(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

function currentStep() {
  return Math.floor(Date.now() / 1000 / 30);
}

// RFC 6238 appendix B: the SHA-1 vectors (truncated to 6 digits), so a broken client
// cannot make the server look wrong.
function selfTestTotp() {
  const key = Buffer.from('12345678901234567890');
  const vectors = [[59, '287082'], [1111111109, '081804'], [1234567890, '005924'], [2000000000, '279037']];
  for (const [t, want] of vectors) {
    const got = totpAt(key, Math.floor(t / 30));
    if (got !== want) throw new Error(`TOTP self-test failed at T=${t}: ${got} != ${want}`);
  }
}

// --- mail ---------------------------------------------------------------------------------

function decodeQuotedPrintable(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && s[i + 1] === '\n') { i += 1; continue; }
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

// Splits a single-part message into lower-cased headers and its decoded body.
function parseMail(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const headers = {};
  let last = null;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last) {
      headers[last] += ' ' + line.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) {
        last = line.slice(0, colon).trim().toLowerCase();
        headers[last] = line.slice(colon + 1).trim();
      }
    }
  }
  const encoding = (headers['content-transfer-encoding'] || '').toLowerCase();
  let decoded = body;
  if (encoding === 'quoted-printable') decoded = decodeQuotedPrintable(body);
  if (encoding === 'base64') decoded = Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8');
  return { headers, body: decoded };
}

// Messages to `to` in `dir`: the SMTP receiver's `<stem>.eml` with a `<stem>.json` sidecar
// naming the recipients, or a file transport's `.eml` whose `To:` names them.
function mailsTo(dir, to) {
  const wanted = to.toLowerCase();
  const out = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith('.eml') || name.startsWith('.')) continue;
    const raw = fs.readFileSync(path.join(dir, name), 'utf8');
    const mail = parseMail(raw);
    const sidecar = path.join(dir, name.slice(0, -4) + '.json');
    let recipients;
    if (fs.existsSync(sidecar)) {
      const meta = JSON.parse(fs.readFileSync(sidecar, 'utf8'));
      recipients = meta.rcpt_tos || (meta.envelope && meta.envelope.forward_path) || [];
    } else {
      recipients = [(mail.headers.to || '').replace(/^.*<|>.*$/g, '')];
    }
    if (recipients.some((r) => String(r).toLowerCase() === wanted)) out.push(mail);
  }
  return out;
}

// Waits (15 s at most) for a mail to `to` with a `{base}/{linkPath}?token=…` link; returns
// the link.
async function waitForLink(dir, to, base, linkPath) {
  const pattern = new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${linkPath}\\?token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    for (const mail of mailsTo(dir, to)) {
      const m = mail.body.match(pattern);
      if (m) return m[0];
    }
    if (Date.now() > deadline) {
      const subjects = mailsTo(dir, to).map((m) => m.headers.subject);
      throw new Error(`no mail to ${to} with a ${linkPath} link within 15 s (got: ${JSON.stringify(subjects)})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- page checks ------------------------------------------------------------------------------

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// Every visible form control has a label, the document a language and one h1.
async function checkAccessible(page) {
  const report = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.name || el.id || el.outerHTML);
    const unnamedButtons = [...document.querySelectorAll('button')]
      .filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim()))
      .length;
    return {
      lang: document.documentElement.lang,
      h1: document.querySelectorAll('h1').length,
      unlabelled,
      unnamedButtons,
      // Only the scripts the binary serves, never inline code or another source.
      scripts: [...document.querySelectorAll('script')]
        .filter((s) => !['/assets/passkey.js', '/assets/pattern-pad.js', '/assets/gesture.js', '/assets/wallet.js'].includes(s.getAttribute('src'))).length,
    };
  });
  check(report.lang === 'en', `<html lang> on ${page.url()}`);
  check(report.h1 === 1, `one <h1> on ${page.url()}`);
  check(report.unlabelled.length === 0, `labels for ${report.unlabelled.join(', ')} on ${page.url()}`);
  check(report.unnamedButtons === 0, `every button has a name on ${page.url()}`);
  check(report.scripts === 0, `no scripts but the binary's own (/assets/*.js) on ${page.url()}`);
}

module.exports = {
  launch, base32Decode, totpAt, currentStep, selfTestTotp, waitForLink, mailsTo, check, checkAccessible,
};
