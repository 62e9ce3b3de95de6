"""Encrypted upstreams (DNS over TLS and over HTTPS) against a real TLS server on loopback:
a second kidshield with a test certificate stands in for the public resolver, the client
trusts that certificate through SSL_CERT_FILE, as it would trust a public CA."""

from __future__ import annotations

from pathlib import Path

import dns.rcode
import pytest

from tests.dns.conftest import FakeUpstream, Served, ServeFactory, addresses


@pytest.fixture
def trust_test_certificate(
    tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Path]:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
    return tls_files


def test_a_dns_over_tls_upstream_is_asked_by_name_at_its_bootstrap_address(
    serve: ServeFactory, upstream: FakeUpstream, trust_test_certificate: tuple[Path, Path],
) -> None:
    cert, key = trust_test_certificate
    public = serve(dns_options={"dot_listen": ["127.0.0.1:0"], "tls_certificate": str(cert),
                                "tls_key": str(key)})
    port = public.bound("dot")
    home = serve(upstreams=[f"tls://dns.test@127.0.0.1:{port}"])
    assert addresses(home.query("over-tls.example")) == ["192.0.2.1"]
    assert upstream.count("over-tls.example") == 1  # it went through the TLS resolver
    # a server whose certificate does not carry the configured name is not trusted
    wrong = serve(upstreams=[f"tls://other.example@127.0.0.1:{port}"])
    assert wrong.query("refused-tls.example").rcode() == dns.rcode.SERVFAIL
    assert upstream.count("refused-tls.example") == 0


@pytest.fixture
def doh_server(serve: ServeFactory, trust_test_certificate: tuple[Path, Path]) -> Served:
    """A kidshield whose web server (DNS over HTTPS) uses the test certificate."""
    cert, key = trust_test_certificate
    return serve(dns_options={"tls_certificate": str(cert), "tls_key": str(key)}, web=True)


def test_a_dns_over_https_upstream_is_asked_by_name_at_its_bootstrap_address(
    serve: ServeFactory, upstream: FakeUpstream, doh_server: Served,
) -> None:
    url = f"https://dns.test:{doh_server.bound('https')}/dns-query@127.0.0.1"
    home = serve(upstreams=[url])
    for _ in range(2):
        assert addresses(home.query("over-https.example")) == ["192.0.2.1"]
    assert addresses(home.query("other-https.example", rdtype="AAAA")) == ["2001:db8::1"]
    assert upstream.count("over-https.example") == 1  # once upstream, then from the cache
    assert upstream.count("other-https.example", "AAAA") == 1
