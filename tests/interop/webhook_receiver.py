"""A webhook subscriber for the interop tests: an HTTP server that verifies every delivery with
the `standardwebhooks` package (the reference Python library of the Standard Webhooks
specification) and appends what it got to a JSON-lines file.

For each delivery it also asks the package about two altered copies and records its answers:
  - forged: the same body and headers with the signature's bytes changed;
  - replayed: the same body signed with the right secret but a timestamp six minutes old, as
    a delivery captured earlier and sent again would be.

Usage: webhook_receiver.py --port N --log FILE --secret whsec_... [--secret ...] [--status 204]
Prints "ready" once it listens. Answers --status when the first secret verifies the
delivery, 400 otherwise.
"""

import argparse
import base64
import json
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

LOCK = threading.Lock()


def verdict(hook, body, headers):
    try:
        hook.verify(body, headers)
        return "accepted"
    except Exception as e:  # the package's WebhookVerificationError, or a malformed header
        return f"rejected: {e}"


def forged(headers):
    out = dict(headers)
    sigs = []
    for part in headers["webhook-signature"].split(" "):
        version, sig = part.split(",", 1)
        raw = bytearray(base64.b64decode(sig))
        raw[0] ^= 0x01
        sigs.append(f"{version},{base64.b64encode(bytes(raw)).decode()}")
    out["webhook-signature"] = " ".join(sigs)
    return out


def replayed(hook, body, headers):
    stale = datetime.now(tz=timezone.utc) - timedelta(minutes=6)
    out = dict(headers)
    out["webhook-timestamp"] = str(int(stale.timestamp()))
    out["webhook-signature"] = hook.sign(headers["webhook-id"], stale, body.decode())
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--secret", action="append", required=True)
    p.add_argument("--status", type=int, default=204)
    args = p.parse_args()
    hooks = [Webhook(s) for s in args.secret]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verdicts = [verdict(h, body, headers) for h in hooks]
            record = {
                "path": self.path,
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "webhook_signature": headers.get("webhook-signature"),
                "content_type": headers.get("content-type"),
                "verdicts": verdicts,
                "forged": verdict(hooks[0], body, forged(headers)),
                "replayed": verdict(hooks[0], body, replayed(hooks[0], body, headers)),
                "body": body.decode(),
            }
            with LOCK, open(args.log, "a") as f:
                f.write(json.dumps(record) + "\n")
            ok = verdicts[0] == "accepted"
            self.send_response(args.status if ok else 400)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
