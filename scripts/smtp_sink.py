#!/usr/bin/env python3
"""A real SMTP receiver for Portcullis' tests (started by scripts/test).

Usage: smtp_sink.py --host 127.0.0.1 --port N --maildir DIR

Listens with aiosmtpd on HOST:PORT (plain SMTP: no STARTTLS, no implicit
TLS). AUTH PLAIN/LOGIN is offered over the plain connection and any
credentials are accepted, but AUTH is never required.

Every accepted message is stored in DIR as two files with the same stem,
  <UTC timestamp>-<counter>.json  {"mail_from": str, "rcpt_tos": [str, ...],
                                   "auth_login": str | null}
  <UTC timestamp>-<counter>.eml   the raw DATA bytes (dot-unstuffed)
e.g. 20261123T174455123456Z-000001.eml, where the counter counts up from 1
for the process. Both are written under a temporary dot-name and then
renamed, and the .json is renamed into place before the .eml, so once a
*.eml file is visible it is complete and its .json sidecar exists.

Prints "ready" on stdout once it is listening; runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import threading
from datetime import datetime, timezone

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def _atomic_write(directory: str, name: str, data: bytes) -> None:
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
    os.rename(tmp, os.path.join(directory, name))


class MaildirHandler:
    def __init__(self, maildir: str) -> None:
        self.maildir = maildir
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with self._lock:
            n = next(self._counter)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        stem = f"{stamp}-{n:06d}"
        login = getattr(session, "auth_data", None) if session.authenticated else None
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        elif login is not None and not isinstance(login, str):
            login = str(login)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_login": login,
        }
        _atomic_write(self.maildir, stem + ".json", json.dumps(meta).encode("utf-8"))
        _atomic_write(self.maildir, stem + ".eml", raw)
        return "250 Message accepted for delivery"


def _accept_any(server, session, envelope, mechanism, auth_data):
    # Record the login name (auth_data is a LoginPassword for PLAIN/LOGIN).
    login = getattr(auth_data, "login", None)
    return AuthResult(success=True, auth_data=login)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()

    os.makedirs(args.maildir, exist_ok=True)

    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    # scripts/test starts us in the background, where SIGINT is ignored: keep it
    # that way so a Ctrl-C reaches the script, whose cleanup then stops us.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_signal)

    controller = Controller(
        MaildirHandler(args.maildir),
        hostname=args.host,
        port=args.port,
        ready_timeout=10.0,
        enable_SMTPUTF8=True,
        authenticator=_accept_any,
        auth_required=False,
        auth_require_tls=False,
    )
    controller.start()
    try:
        print("ready", flush=True)
        while not stop.is_set():
            stop.wait(1.0)
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
