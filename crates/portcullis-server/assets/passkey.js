// Passkeys on Portcullis' pages: the only script they load (served by the binary; the CSP
// allows same-origin scripts only). It turns a form marked `data-passkey` into a WebAuthn
// ceremony:
//   register — POST the form (label, CSRF token) for creation options, call
//              navigator.credentials.create, POST the attestation to /security/passkey/finish;
//   signin   — POST the form for discoverable request options (passwordless), then get();
//   assert   — POST the form (the login challenge) for the account's request options, then get();
//   stepup   — POST the form (the step-up challenge, CSRF token) for the session's request
//              options, then get(), and POST the assertion with the CSRF token to
//              /security/step-up/passkey/answer;
// and both sign-ins POST the assertion to /signin/passkey/answer. The server's JSON carries
// binary fields as unpadded base64url; the browser's API takes and returns ArrayBuffers.
'use strict';

(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    for (const form of document.querySelectorAll('form[data-passkey]')) {
      showError(form, 'This browser cannot use passkeys.');
    }
    return;
  }

  function fromB64url(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // JSON nulls would not convert to the API's optional members: leave them out.
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === 'object') {
      const out = {};
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) out[k] = withoutNulls(v);
      }
      return out;
    }
    return value;
  }

  function creationOptions(options) {
    const pk = withoutNulls(options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    for (const c of pk.excludeCredentials || []) c.id = fromB64url(c.id);
    return { publicKey: pk };
  }

  function requestOptions(options) {
    const pk = withoutNulls(options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    for (const c of pk.allowCredentials || []) c.id = fromB64url(c.id);
    const request = { publicKey: pk };
    if (options.mediation) request.mediation = options.mediation;
    return request;
  }

  function credentialJson(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response,
      extensions: credential.getClientExtensionResults(),
    });
  }

  function showError(form, text) {
    const slot = form.querySelector('[data-passkey-error]');
    if (!slot) return;
    slot.textContent = text;
    slot.hidden = false;
  }

  // POSTs form fields; answers the JSON reply, or throws with the text to show.
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

  function fieldsOf(form) {
    return [...new FormData(form).entries()];
  }

  function csrfOf(form) {
    const input = form.querySelector('input[name=csrf]');
    return input ? input.value : '';
  }

  async function register(form) {
    const started = await post(form.action, fieldsOf(form));
    if (started.step_up) {
      // A recent sign-in is needed: the plain form shows the confirmation page.
      form.submit();
      return;
    }
    const credential = await navigator.credentials.create(creationOptions(started.options));
    const done = await post('/security/passkey/finish', [
      ['csrf', csrfOf(form)], ['id', started.id], ['credential', credentialJson(credential)],
    ]);
    window.location.assign(done.redirect);
  }

  async function signIn(form) {
    const started = await post(form.action, fieldsOf(form));
    const credential = await navigator.credentials.get(requestOptions(started.options));
    const done = await post('/signin/passkey/answer', [
      ['challenge', started.challenge], ['credential', credentialJson(credential)],
    ]);
    window.location.assign(done.redirect);
  }

  async function stepUp(form) {
    const started = await post(form.action, fieldsOf(form));
    const credential = await navigator.credentials.get(requestOptions(started.options));
    const done = await post('/security/step-up/passkey/answer', [
      ['csrf', csrfOf(form)], ['challenge', started.challenge], ['credential', credentialJson(credential)],
    ]);
    window.location.assign(done.redirect);
  }

  function explain(error) {
    if (error && error.name === 'NotAllowedError') {
      return 'The passkey was not used (cancelled or timed out). Try again.';
    }
    if (error && error.name === 'InvalidStateError') {
      return 'This authenticator already holds a passkey for this account.';
    }
    return (error && error.message) || 'Something went wrong; try again.';
  }

  for (const form of document.querySelectorAll('form[data-passkey]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type=submit]');
      const slot = form.querySelector('[data-passkey-error]');
      if (slot) slot.hidden = true;
      if (button) button.disabled = true;
      try {
        if (form.dataset.passkey === 'register') await register(form);
        else if (form.dataset.passkey === 'stepup') await stepUp(form);
        else await signIn(form);
      } catch (error) {
        showError(form, explain(error));
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
})();
