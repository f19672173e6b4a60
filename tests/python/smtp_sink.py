"""A real SMTP server for the reminder tests and benchmark (aiosmtpd, pinned in
scripts/install-test-deps.sh). Usage: smtp_sink.py OUT_DIR [--raw]

Listens on a free 127.0.0.1 port and prints "ready PORT" once it accepts connections.
Each accepted message becomes OUT_DIR/<n>.json: {"rcpt": [...], "from", "subject",
"body"}, with headers and body decoded by Python's email package (written to a temporary
name first, so a reader never sees half a file). Two kinds of recipient act up, to exercise
the sender's error handling: a local part starting with "ditolak" is refused for good (550),
and one starting with "sibuk" is refused once for a while (451), then accepted. With --raw
(the benchmark) each message is written as received, OUT_DIR/<n>.eml, without parsing.
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out, raw=False):
        self.out = out
        self.raw = raw
        self.count = itertools.count(1)
        self.busy_seen = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("ditolak"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("sibuk") and address not in self.busy_seen:
            self.busy_seen.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.raw:
            n = next(self.count)
            tmp = os.path.join(self.out, f".{n}.tmp")
            with open(tmp, "wb") as f:
                f.write(envelope.original_content)
            os.rename(tmp, os.path.join(self.out, f"{n}.eml"))
            return "250 Message accepted"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "rcpt": list(envelope.rcpt_tos),
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "body": body.get_content() if body is not None else "",
        }
        n = next(self.count)
        tmp = os.path.join(self.out, f".{n}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.out, f"{n}.json"))
        return "250 Message accepted"


async def main(out, raw):
    handler = Sink(out, raw)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, decode_data=False),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--raw" in sys.argv[2:]))
