"""The block page over HTTPS in Chromium (issue 16 item 8): a browser that trusts kidshield's
local CA, as a managed device does, opens a blocked https:// site on the block listener, sees
the block page and asks. Its own module: Playwright's sync API runs once per module here."""

from __future__ import annotations

from typing import Any

from kidshield.clock import FixedClock
from tests.e2e.harness import chromium
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream
from tests.screenshots import images_dir

PHONE = {"width": 390, "height": 844}


def test_block_page_over_https_with_the_local_ca(
        serve_config: Any, upstream: FakeUpstream, tmp_path: Any) -> None:
    """Chromium trusting kidshield's local CA (as a managed device does) opens
    https://casino.example/ on the block listener and asks for it."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    write_lists(tmp_path)
    text = config_text(upstream.port).replace(
        '[web]\nlisten = "127.0.0.1:0"\n', '[web]\nlisten = "127.0.0.1:0"\nlocal_ca = true\n'
        'block_https_listen = "127.0.0.1:0"\n')
    served = serve_config(text, FixedClock(AFTERNOON))
    ca = x509.load_pem_x509_certificate(served.client().get("/ca.crt").content)
    spki = ca.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    trusted = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    with chromium({"casino.example": served.bound("https-block")},
                  (f"--ignore-certificate-errors-spki-list={trusted}",)) as b:
        child = b.new_context(viewport=PHONE).new_page()
        response = child.goto("https://casino.example/")
        assert response is not None and response.status == 403
        assert child.locator("h1").inner_text() == "Blocked to keep you safe"
        child.screenshot(path=str(images_dir() / "block-page-https.png"), full_page=True)
        child.fill("#message", "for a school project")
        child.click("text=Ask for access")
        child.wait_for_selector("text=Your question is on its way")
    pending = served.web.state.requests("pending")
    assert [(r.domain, r.message) for r in pending] == [("casino.example",
                                                         "for a school project")]
