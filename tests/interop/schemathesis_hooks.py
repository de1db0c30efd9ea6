"""Schemathesis hooks for the generated attacks on the Portcullis API.

`crates/portcullis-server/tests/api_schemathesis.rs` loads this file into `st run` through
`SCHEMATHESIS_HOOKS`. It does two jobs:

* Authentication. Operations that declare the `bearer` scheme get a real access token of the
  account under test, obtained by logging in with the password and, when the login asks for a
  second factor, a TOTP code (an administrator must use one). A generated request may end the
  very session it runs on (logout, logout everywhere); the operations that end sessions
  therefore run on a second, spare account, so that the main session lives through the run. A
  401 `unauthenticated` answer to one of our tokens drops it, and the next case logs in again.
  We cache tokens ourselves (`refresh_interval=None`): Schemathesis' own re-login on every 401
  would also fire on step-up refusals, and each re-login of a TOTP account can cost a wait for
  the next 30-second step (a code is accepted once).
* Counting. Every response is counted by operation and status; at exit the counts go to the
  JSON file named by `PORTCULLIS_ST_STATS`, which the Rust test reads and reports.

Configuration, from the Rust test: `PORTCULLIS_ST_CREDENTIALS` is a JSON object
`{"base": URL, "main": ACCOUNT, "spare": ACCOUNT}`, each ACCOUNT
`{"email", "password", "totp_secret" (base32 or null), "totp_last_step" (int or null)}`.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import sys
import threading
import time

import pyotp
import requests
import schemathesis

CREDENTIALS = json.loads(os.environ["PORTCULLIS_ST_CREDENTIALS"])
BASE = CREDENTIALS["base"].rstrip("/")
STATS_PATH = os.environ.get("PORTCULLIS_ST_STATS")

# Operations that end the caller's session (or every session of the caller's account).
SESSION_ENDING = {
    ("DELETE", "/v1/sessions"),
    ("DELETE", "/v1/sessions/current"),
    ("DELETE", "/v1/sessions/{id}"),
}
PROBLEM_BASE = "https://portcullis.dev/problems/"
TOTP_STEP = 30


class LoginFailed(Exception):
    """The account under test could not log in: the run cannot authenticate."""


class Account:
    """One account under test: its credentials and the access token of its current session."""

    def __init__(self, name: str, spec: dict) -> None:
        self.name = name
        self.email = spec["email"]
        self.password = spec["password"]
        secret = spec.get("totp_secret")
        self.totp = pyotp.TOTP(secret) if secret else None
        self.last_step = spec.get("totp_last_step") or 0
        self.recovery_codes: list[str] = []
        self.token: str | None = None
        self.logins = 0
        self._lock = threading.Lock()

    def access_token(self) -> str:
        with self._lock:
            if self.token is None:
                self.token = self._login()
                self.logins += 1
            return self.token

    def drop(self, token: str) -> None:
        """Forgets `token` when it is still the current one (its session has ended)."""
        with self._lock:
            if self.token == token:
                self.token = None

    def _login(self) -> str:
        reply = requests.post(
            f"{BASE}/v1/sessions",
            json={"email": self.email, "password": self.password},
            timeout=30,
        )
        for _ in range(4):
            body = _json(reply)
            if reply.status_code in (200, 201):
                return body["access_token"]
            if reply.status_code != 202:
                raise LoginFailed(f"{self.name}: login answered {reply.status_code}: {reply.text}")
            reply = requests.post(
                f"{BASE}/v1/sessions/challenges/{body['challenge_id']}",
                json=self._answer(body.get("factors") or []),
                timeout=30,
            )
        raise LoginFailed(f"{self.name}: the login challenge did not complete: {reply.text}")

    def _answer(self, factors: list[str]) -> dict:
        if "totp" in factors and self.totp is not None:
            # A code is accepted once per 30-second step: wait for a step we have not used.
            step = int(time.time()) // TOTP_STEP
            if step <= self.last_step:
                time.sleep((self.last_step + 1) * TOTP_STEP - time.time() + 0.5)
                step = int(time.time()) // TOTP_STEP
            self.last_step = step
            return {"factor": "totp", "code": self.totp.at(step * TOTP_STEP)}
        if "recovery_code" in factors and self.recovery_codes:
            return {"factor": "recovery_code", "code": self.recovery_codes.pop()}
        raise LoginFailed(f"{self.name}: no answer for the offered factors {factors}")


ACCOUNTS = {name: Account(name, CREDENTIALS[name]) for name in ("main", "spare")}
STATUSES: collections.Counter[tuple[str, int]] = collections.Counter()
STATUSES_LOCK = threading.Lock()


def _json(reply) -> dict:
    try:
        value = reply.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _account_for(operation) -> Account:
    key = (operation.method.upper(), operation.path)
    return ACCOUNTS["spare" if key in SESSION_ENDING else "main"]


def _declares_bearer(operation) -> bool:
    return any("bearer" in requirement for requirement in operation.definition.raw.get("security", []))


@schemathesis.auth(refresh_interval=None)
class PortcullisAuth:
    """A live access token of the account under test, for operations that take one."""

    def get(self, case, context):
        if not _declares_bearer(context.operation):
            return None
        return _account_for(context.operation).access_token()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context, case, response):
    with STATUSES_LOCK:
        STATUSES[(f"{case.operation.method.upper()} {case.operation.path}", response.status_code)] += 1
    sent = response.request.headers.get("Authorization") or ""
    if not sent.startswith("Bearer "):
        return
    token = sent.removeprefix("Bearer ")
    if response.status_code == 401:
        problem = _json_bytes(response.content)
        if problem.get("type") == PROBLEM_BASE + "unauthenticated":
            for account in ACCOUNTS.values():
                account.drop(token)
    elif (case.operation.method.upper(), case.operation.path) == ("POST", "/v1/me/recovery-codes"):
        # A new set replaces the old one, which would otherwise leave the account with a
        # second factor we cannot answer.
        codes = _json_bytes(response.content).get("codes")
        if response.status_code == 201 and isinstance(codes, list):
            for account in ACCOUNTS.values():
                if account.token == token:
                    account.recovery_codes = list(codes)


def _json_bytes(content: bytes) -> dict:
    try:
        value = json.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@atexit.register
def _write_stats() -> None:
    totals: collections.Counter[int] = collections.Counter()
    operations: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for (operation, status), count in sorted(STATUSES.items()):
        totals[status] += count
        operations[operation][str(status)] = count
    stats = {
        "requests": sum(totals.values()),
        "statuses": {str(k): v for k, v in sorted(totals.items())},
        "operations": operations,
        "logins": {name: account.logins for name, account in ACCOUNTS.items()},
    }
    if STATS_PATH:
        with open(STATS_PATH, "w", encoding="utf-8") as f:
            json.dump(stats, f)
    else:
        print(f"portcullis: {json.dumps(stats)}", file=sys.stderr)
