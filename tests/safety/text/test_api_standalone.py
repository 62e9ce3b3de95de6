"""The assessment endpoints served standalone, as docs/safety.md tells people to run them:
``uvicorn --factory kidshield.web.api.assess:create_app``, a real process on 127.0.0.1. No
sign-in there (bind to localhost), so the document says none is needed. The endpoints' own
behaviour is tested on the served app (test_api.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import end

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # the test binds the socket and hands uvicorn its descriptor: no port race
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "kidshield.web.api.assess:create_app",
         "--fd", str(sock.fileno()), "--log-level", "warning"],
        pass_fds=[sock.fileno()], env=env, cwd=tmp_path_factory.mktemp("standalone"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sock.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # loads the model and the lexicon first
        while True:
            try:
                httpx.get(f"{url}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    said = proc.communicate()[1]
                    raise AssertionError(f"uvicorn did not start: {said}") from None
                time.sleep(0.1)
        yield url
    finally:
        end(proc)


def test_the_standalone_app_assesses_and_describes_itself_without_accounts(
    standalone: str,
) -> None:
    with httpx.Client(base_url=standalone, timeout=15) as client:
        answer = client.post("/api/v1/assess/message", json={"text": "my number is 07700 900123"})
        assert answer.status_code == 200
        assert answer.json()["redacted"] == "my number is [phone]"
        doc = client.get("/api/v1/openapi.json").json()
    assert set(doc["paths"]) == {"/api/v1/assess/message", "/api/v1/assess/conversation",
                                 "/api/v1/openapi.json"}
    op = doc["paths"]["/api/v1/assess/message"]["post"]
    assert "security" not in op and "401" not in op["responses"]
    assert "securitySchemes" not in doc["components"]
