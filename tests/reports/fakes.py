"""Fake receivers on loopback for notification tests: an HTTP server that records what ntfy
and webhook clients post, and a real SMTP server (aiosmtpd) that records mail."""

from __future__ import annotations

import queue
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class FakeHttpReceiver:
    """Records every POST (an ntfy topic, a webhook); answers 200, or ``status``, after
    ``delay`` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.received: queue.Queue[Posted] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.put(Posted(self.path, dict(self.headers.items()), body,
                                             time.monotonic()))
                time.sleep(delay)  # a receiver that answers slowly
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, path: str, timeout: float = 5.0) -> Posted:
        """The next POST to ``path`` (others are kept for later waits)."""
        deadline = time.monotonic() + timeout
        skipped: list[Posted] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing was posted to {path} within {timeout} s")
                try:
                    item = self.received.get(timeout=left)
                except queue.Empty:
                    continue
                if item.path == path:
                    return item
                skipped.append(item)
        finally:
            for item in skipped:
                self.received.put(item)

    def drain(self) -> None:
        """Forget everything received so far."""
        while not self.received.empty():
            self.received.get_nowait()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeSmtp:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: queue.Queue[tuple[list[str], Message, float]] = queue.Queue()
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.put((list(envelope.rcpt_tos),
                                    message_from_bytes(envelope.content), time.monotonic()))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait(self, to: str, timeout: float = 5.0) -> Message:
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail to {to} within {timeout} s")
                try:
                    rcpts, message, at = self.messages.get(timeout=left)
                except queue.Empty:
                    continue
                if to in rcpts:
                    return message
                skipped.append((rcpts, message, at))
        finally:
            for item in skipped:
                self.messages.put(item)

    def close(self) -> None:
        self.controller.stop()
