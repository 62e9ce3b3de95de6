from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kidshield.lists.formats import Chunk, ParseReport, parse_file


class Collected:
    """A sink that keeps what the parser hands on."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def __call__(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)

    @property
    def blocked(self) -> list[tuple[str, int]]:
        return [pair for c in self.chunks for pair in zip(c.domains, c.lines, strict=True)]

    @property
    def allowed(self) -> list[tuple[str, int]]:
        return [pair for c in self.chunks for pair in c.allow]

    def by_category(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for c in self.chunks:
            out.setdefault(c.category, []).extend(c.domains)
        return out


def parse_text(tmp_path: Path, text: str, fmt: str = "auto", *,
               allow: bool = False) -> tuple[ParseReport, Collected]:
    path = tmp_path / "list.txt"
    path.write_text(text, encoding="utf-8")
    sink = Collected()
    return parse_file(path, fmt, sink, allow=allow), sink


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FakeListServer:
    """Serves ``reply`` for every GET; answers 304 when If-None-Match matches its ETag."""

    reply: Reply = field(default_factory=Reply)
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(headers)
                r = server.reply
                if r.etag is not None and headers.get("if-none-match") == r.etag:
                    self.send_response(304)
                    self.send_header("ETag", r.etag)
                    self.end_headers()
                    return
                self.send_response(r.status)
                if r.etag is not None:
                    self.send_header("ETag", r.etag)
                if r.last_modified is not None:
                    self.send_header("Last-Modified", r.last_modified)
                self.send_header("Content-Length", str(len(r.body)))
                self.end_headers()
                self.wfile.write(r.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serve_lists(reply: Reply | None = None, path: str = "/list.txt") -> Iterator[FakeListServer]:
    """A list server on 127.0.0.1 (a kernel-chosen port), stopped on leaving."""
    fake = FakeListServer(reply or Reply())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
