"""HTTPS blocks (issue 16 item 8): a blocked name that browsers only open over HTTPS gets no
address (the browser stops at once instead of showing a certificate error it cannot pass);
with the local CA on, the HTTPS block listener answers each name with a certificate the
device can check against the CA, and shows the block page with its ask form; the child page
lists recent blocks with an Ask button."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from pathlib import Path

import httpx
from cryptography import x509

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def household(upstream: FakeUpstream, *, local_ca: bool) -> str:
    text = config_text(upstream.port).replace(
        'name = "Mia"\n', 'name = "Mia"\ndeny = ["games.dev", "games.example"]\n')
    if local_ca:
        text = text.replace('[web]\nlisten = "127.0.0.1:0"\n',
                            '[web]\nlisten = "127.0.0.1:0"\nlocal_ca = true\n'
                            'block_https_listen = "127.0.0.1:0"\n')
    return text


def test_an_https_only_name_gets_no_address_without_the_local_ca(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(household(upstream, local_ca=False), FixedClock(AFTERNOON))
    assert served.addresses("games.example") == ["127.0.0.1"]  # the block page (plain HTTP)
    assert served.addresses("games.dev") == ["0.0.0.0"]  # .dev is HTTPS-only: fail fast
    assert served.addresses("www.google.dev") == ["192.0.2.1"]  # not blocked: untouched
    client, _headers = served.parent()
    page = client.get("/settings").text
    assert "can&#39;t be reached" in page and "/ca.crt" not in page
    assert served.client().get("/ca.crt").status_code == 404


def _https_get(port: int, name: str, ca_file: Path) -> tuple[int, str, x509.Certificate]:
    """GET / over TLS as a strict client: the chain must lead to the CA, the name match."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        conn = http.client.HTTPConnection(name)
        conn.sock = tls  # type: ignore[assignment]
        conn.request("GET", "/", headers={"Host": name})
        response = conn.getresponse()
        return response.status, response.read().decode(), x509.load_der_x509_certificate(der)


def test_with_the_local_ca_the_block_page_shows_over_https(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(household(upstream, local_ca=True), FixedClock(AFTERNOON))
    ca_file = tmp_path / "kidshield-data" / "ca" / "ca.crt"
    key_file = tmp_path / "kidshield-data" / "ca" / "ca.key"
    assert key_file.stat().st_mode & 0o777 == 0o600  # the key is the owner's alone
    downloaded = served.client().get("/ca.crt")
    assert downloaded.status_code == 200 and downloaded.content == ca_file.read_bytes()
    port = served.bound("https-block")
    status, page, cert = _https_get(port, "casino.example", ca_file)
    assert status == 403 and "Blocked to keep you safe" in page
    assert 'action="/.well-known/kidshield/ask"' in page
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["casino.example"]
    # the same CA vouches for another name, and the HTTPS-only name gets the block page now
    assert _https_get(port, "games.dev", ca_file)[0] == 403
    assert served.addresses("games.dev") == ["127.0.0.1"]
    # the child page's own name gets the child page over HTTPS
    status, page, _cert = _https_get(port, "kidshield.home.arpa", ca_file)
    assert status == 200 and "My protection" in page
    client, _headers = served.parent()
    settings = client.get("/settings").text
    fingerprint = ":".join(re.findall("..", cert_fingerprint(ca_file)))
    assert fingerprint in settings


def cert_fingerprint(path: Path) -> str:
    import hashlib

    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def test_an_untrusting_device_fails_at_once(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(household(upstream, local_ca=True), FixedClock(AFTERNOON))
    context = ssl.create_default_context()  # the system's CAs only
    with socket.create_connection(("127.0.0.1", served.bound("https-block")), timeout=5) as raw:
        try:
            context.wrap_socket(raw, server_hostname="casino.example")
        except ssl.SSLCertVerificationError as exc:
            assert "unable to get local issuer certificate" in str(exc) or \
                "self-signed" in str(exc) or "self signed" in str(exc)
        else:
            raise AssertionError("a device without the CA accepted the certificate")


def test_the_child_page_lists_recent_blocks_with_an_ask_button(
        served: Served, client: httpx.Client) -> None:
    served.addresses("casino.example")
    served.pump()
    page = client.get("/me").text
    assert "Did a site or app not open" in page
    block = re.search(r'<li><bdi>casino.example</bdi>.*?</li>', page, re.S)
    assert block is not None and 'action="/me/ask"' in block.group(0)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    r = client.post("/me/ask", data={"csrf": csrf.group(1), "name": "casino.example",
                                     "message": ""})
    assert r.status_code == 200 and "on its way" in r.text
