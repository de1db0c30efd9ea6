// Sign in with Ethereum on Portcullis' pages: the script of a form marked `data-wallet`
// (served by the binary; the CSP allows same-origin scripts only). It uses the browser's
// injected wallet (EIP-1193, `window.ethereum`: a browser extension, or a hardware wallet
// through one):
//   1. makes a session key in the browser (WebCrypto Ed25519, not extractable; P-256 is not
//      an option of the server, so a browser without Ed25519 says so);
//   2. POSTs the form (the login challenge, the key's public JWK) to /signin/wallet/message
//      for the two texts: the Sign-In with Ethereum message and the delegation of the key;
//   3. has the wallet sign both (`personal_sign`, EIP-191), from the account the server
//      names;
//   4. POSTs the two signatures to /signin/wallet/answer, which signs the browser in.
// On /security (`data-wallet="bind"`) it binds the wallet's first account: POSTs its address
// for the enrolment's Sign-In with Ethereum message, has the wallet sign it and POSTs the
// signature to /security/wallet/confirm.
'use strict';

(function () {
  function showError(form, text) {
    const slot = form.querySelector('[data-wallet-error]');
    if (!slot) return;
    slot.textContent = text;
    slot.hidden = false;
  }

  async function post(url, fields) {
    const reply = await fetch(url, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
      credentials: 'same-origin',
    });
    const type = reply.headers.get('Content-Type') || '';
    if (!type.startsWith('application/json')) {
      throw new Error('The request was refused. Reload the page and try again.');
    }
    const body = await reply.json();
    if (!reply.ok && !body.step_up) {
      if (body.redirect) window.location.assign(body.redirect);
      throw new Error(body.error || 'Something went wrong; try again.');
    }
    return body;
  }

  // personal_sign takes the message as hex of its UTF-8 bytes.
  function utf8Hex(text) {
    const bytes = new TextEncoder().encode(text);
    return '0x' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function sessionKey() {
    try {
      const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign']);
      const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
      return { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
    } catch (e) {
      throw new Error('This browser cannot make an Ed25519 key; use a current browser.');
    }
  }

  async function signIn(form) {
    const provider = window.ethereum;
    if (!provider || typeof provider.request !== 'function') {
      throw new Error('No Ethereum wallet found in this browser.');
    }
    const challenge = form.querySelector('input[name="challenge"]').value;
    const key = await sessionKey();
    const texts = await post('/signin/wallet/message', {
      challenge,
      session_key: JSON.stringify(key),
    });
    const accounts = await provider.request({ method: 'eth_requestAccounts' });
    const account = (accounts || []).find((a) => a.toLowerCase() === texts.address.toLowerCase());
    if (!account) {
      throw new Error('Choose the account ' + texts.address + ' in your wallet.');
    }
    const signature = await provider.request({
      method: 'personal_sign',
      params: [utf8Hex(texts.message), account],
    });
    const delegation = await provider.request({
      method: 'personal_sign',
      params: [utf8Hex(texts.delegation), account],
    });
    const done = await post('/signin/wallet/answer', {
      challenge,
      signature,
      delegation_signature: delegation,
    });
    window.location.assign(done.redirect);
  }

  // /security: the wallet's first account is bound to the account signed in.
  async function bind(form) {
    const provider = window.ethereum;
    if (!provider || typeof provider.request !== 'function') {
      throw new Error('No Ethereum wallet found in this browser.');
    }
    const accounts = await provider.request({ method: 'eth_requestAccounts' });
    if (!accounts || !accounts.length) throw new Error('The wallet gave no account.');
    form.querySelector('input[name="address"]').value = accounts[0];
    const fields = new FormData(form);
    const started = await post(form.action, Object.fromEntries(fields));
    if (started.step_up) {
      // A recent sign-in is needed: the plain form shows the confirmation page.
      form.submit();
      return;
    }
    const signature = await provider.request({
      method: 'personal_sign',
      params: [utf8Hex(started.message), accounts[0]],
    });
    const done = await post('/security/wallet/confirm', {
      csrf: fields.get('csrf') || '',
      id: started.id,
      signature,
    });
    window.location.assign(done.redirect);
  }

  for (const form of document.querySelectorAll('form[data-wallet]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button');
      if (button) button.disabled = true;
      try {
        await (form.dataset.wallet === 'bind' ? bind(form) : signIn(form));
      } catch (error) {
        showError(form, (error && error.message) || 'The wallet did not sign.');
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
})();
