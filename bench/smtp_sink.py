"""A local SMTP server (aiosmtpd) that accepts everything and keeps what it needs to count:
recipient, Message-ID, subject kind, arrival time. No MIME parsing, so it stays cheap."""

from __future__ import annotations

import re
import threading
import time

from bench.harness import free_port

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.I | re.M)
SUBJECT = re.compile(rb"^Subject:\s*([^\r\n]*)", re.I | re.M)


class Sink:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[tuple[float, str, str, str]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                head = envelope.content[:4096]
                mid = MESSAGE_ID.search(head)
                subject = SUBJECT.search(head)
                with sink.lock:
                    sink.received.append((time.time(), ",".join(envelope.rcpt_tos),
                                          mid.group(1).decode() if mid else "",
                                          subject.group(1).decode(errors="replace")[:40]
                                          if subject else ""))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def snapshot(self) -> list[tuple[float, str, str, str]]:
        with self.lock:
            return list(self.received)

    def count(self) -> int:
        with self.lock:
            return len(self.received)
