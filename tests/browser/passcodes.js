'use strict';
// Image and gesture passcodes through the pages in a real headless Chromium:
//   sign up → verify → sign in → add an image passcode (a generated PNG) on /security →
//   add a gesture drawn with the mouse (the image account must step up first: the step-up
//   page takes the image) → sign out → password, then a re-encoded copy of the image
//   (refused), then the image → sign out → password, then a gesture with one event changed
//   drawn with the keyboard (refused), then the right one with the keyboard → /security.
//
// Usage: node passcodes.js <base-url> <maildir> <screenshot-dir>
// Run by crates/portcullis-server/tests/browser.rs; exits 0 when every step passed.

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { launch, waitForLink, check, checkAccessible } = require('./lib');

const [base, maildir, shots] = process.argv.slice(2);
if (!base || !maildir || !shots) {
  console.error('usage: node passcodes.js <base-url> <maildir> <screenshot-dir>');
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
async function heading(page) {
  return (await page.textContent('h1')).trim();
}
function pathOf(page) {
  return new URL(page.url()).pathname;
}

// --- a PNG of noise, written here (CRC-32 and zlib from Node) -------------------------------
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
// `side`×`side` RGB noise from `seed`, deflated at `level`: the same picture at another
// level is other bytes.
function noisePng(side, seed, level) {
  let s = seed >>> 0 || 1;
  const raw = Buffer.alloc(side * (side * 3 + 1));
  for (let y = 0; y < side; y++) {
    raw[y * (side * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < side * 3; x++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      raw[y * (side * 3 + 1) + 1 + x] = s & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- the gesture pad ----------------------------------------------------------------------
const GESTURE = 'click@5 dblclick@1 scrollup@9 rightclick@3 click@7 scrolldown@2';

async function cellCentre(page, padSel, cell) {
  const box = await page.locator(`${padSel} [data-cell="${cell}"]`).boundingBox();
  return [box.x + box.width / 2, box.y + box.height / 2];
}

// Draws `gesture` on the pad with the mouse.
async function drawWithMouse(page, padSel, gesture) {
  await page.locator(padSel).scrollIntoViewIfNeeded();
  for (const event of gesture.split(' ')) {
    const [kind, cell] = event.split('@');
    const [x, y] = await cellCentre(page, padSel, cell);
    await page.mouse.move(x, y);
    if (kind === 'click') await page.mouse.click(x, y);
    else if (kind === 'dblclick') await page.mouse.dblclick(x, y);
    else if (kind === 'rightclick') await page.mouse.click(x, y, { button: 'right' });
    else if (kind === 'scrollup') await page.mouse.wheel(0, -120);
    else if (kind === 'scrolldown') await page.mouse.wheel(0, 120);
    await page.waitForTimeout(300);
  }
}

// Draws `gesture` with the keyboard only: a digit chooses the cell, a key the event.
async function drawWithKeyboard(page, padSel, gesture) {
  await page.focus(padSel);
  const keys = { click: 'Enter', dblclick: 'd', rightclick: 'r', scrollup: 'u', scrolldown: 'n' };
  for (const event of gesture.split(' ')) {
    const [kind, cell] = event.split('@');
    await page.keyboard.press(cell);
    await page.keyboard.press(keys[kind]);
  }
}

async function fieldOf(page, padSel) {
  const id = await page.getAttribute(padSel, 'data-field');
  return page.inputValue(`#${id}`);
}

async function signUpAndVerify(page, email, password) {
  await page.goto(`${base}/signup`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  check(await heading(page) === 'Check your mail', 'check-your-mail page');
  const link = await waitForLink(maildir, email, base, 'verify-email');
  await page.goto(link);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  check(await heading(page) === 'E-mail address verified', `verified, got "${await heading(page)}"`);
}

async function signInWithPassword(page, email, password) {
  await page.goto(`${base}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signin"] button')]);
}

async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click('header form[action="/signout"] button')]);
  check(pathOf(page) === '/signin', `signed out to /signin, at ${page.url()}`);
}

async function submit(page, formSel) {
  await Promise.all([page.waitForNavigation(), page.click(`${formSel} button[type=submit]`)]);
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const image = noisePng(96, 20261201, 1);
  const reencoded = noisePng(96, 20261201, 9);
  check(!image.equals(reencoded), 'the re-encoded copy has other bytes');
  const imageFile = path.join(shots, 'passcode.png.bin');
  const copyFile = path.join(shots, 'passcode-copy.png.bin');
  fs.writeFileSync(imageFile, image);
  fs.writeFileSync(copyFile, reencoded);

  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    const email = `passcodes-${Date.now()}@example.com`;
    const password = 'Kv7!quiet-harbour-lantern-42';
    await signUpAndVerify(page, email, password);
    await signInWithPassword(page, email, password);
    check(pathOf(page) === '/security', `signed in to /security, at ${page.url()}`);
    step('signed up and in with the password');

    await page.setInputFiles('#enrol-image', { name: 'me.png', mimeType: 'image/png', buffer: image });
    await submit(page, 'form[action="/security/image"]');
    check((await page.textContent('main')).includes('Image passcode added'), 'image enrolment notice');
    check((await page.textContent('main')).includes('Image passcode'), 'the image is listed');
    await shot(page, '31-security-passcodes');
    await checkAccessible(page);
    step('added an image passcode (a generated PNG)');

    await drawWithMouse(page, '#enrol-gesture-pad', GESTURE);
    check(await fieldOf(page, '#enrol-gesture-pad') === GESTURE,
      `the mouse drew ${JSON.stringify(await fieldOf(page, '#enrol-gesture-pad'))}`);
    await shot(page, '32-security-gesture-pad');
    await submit(page, 'form[action="/security/gesture"]');
    // The account has an image now: the password session steps up with it first.
    check(await heading(page) === 'Confirm it is you', `step-up page, got "${await heading(page)}"`);
    await shot(page, '33-step-up-image');
    await page.setInputFiles('#image-file', { name: 'me.png', mimeType: 'image/png', buffer: reencoded });
    await submit(page, 'form[action="/security/step-up/image"]');
    check((await page.textContent('main')).includes('not right'), 'the re-encoded copy is refused at step-up');
    await page.setInputFiles('#image-file', { name: 'me.png', mimeType: 'image/png', buffer: image });
    await submit(page, 'form[action="/security/step-up/image"]');
    check(pathOf(page) === '/security', `stepped up to /security, at ${page.url()}`);
    step('stepped up with the image');
    await drawWithMouse(page, '#enrol-gesture-pad', GESTURE);
    await submit(page, 'form[action="/security/gesture"]');
    check(pathOf(page) === '/security', `gesture added, at ${page.url()}`);
    check((await page.textContent('main')).includes('Gesture passcode'), 'the gesture is listed');
    step('added a gesture drawn with the mouse');

    await signOut(page);
    await signInWithPassword(page, email, password);
    check(pathOf(page) === '/signin/factor', `factor picker, at ${page.url()}`);
    await shot(page, '34-factor-picker-passcodes');
    await page.setInputFiles('#image-file', { name: 'me.png', mimeType: 'image/png', buffer: reencoded });
    await submit(page, 'form[action="/signin/factor/image"]');
    check((await page.textContent('main')).includes('not right'), 'the re-encoded copy is refused');
    await shot(page, '35-image-refused');
    await page.setInputFiles('#image-file', { name: 'me.png', mimeType: 'image/png', buffer: image });
    await submit(page, 'form[action="/signin/factor/image"]');
    check(pathOf(page) === '/security', `signed in with the image, at ${page.url()}`);
    step('signed in with the image after a re-encoded copy was refused');

    await signOut(page);
    await signInWithPassword(page, email, password);
    const changed = GESTURE.replace('scrollup@9', 'scrolldown@9');
    await drawWithKeyboard(page, '#gesture-pad', changed);
    check(await fieldOf(page, '#gesture-pad') === changed, 'the keyboard drew the changed gesture');
    await submit(page, 'form[action="/signin/factor"]:has(#gesture-pad)');
    check((await page.textContent('main')).includes('not right'), 'a gesture with one event changed is refused');
    await drawWithKeyboard(page, '#gesture-pad', GESTURE);
    await shot(page, '36-factor-picker-gesture-pad');
    await submit(page, 'form[action="/signin/factor"]:has(#gesture-pad)');
    check(pathOf(page) === '/security', `signed in with the gesture, at ${page.url()}`);
    step('signed in with a gesture drawn with the keyboard after a changed one was refused');
  } finally {
    await browser.close();
    fs.rmSync(imageFile, { force: true });
    fs.rmSync(copyFile, { force: true });
  }
  console.log(`1..${steps}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
