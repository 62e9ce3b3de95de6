"""An optional local certificate authority, so the block page also shows for HTTPS sites on
devices a parent manages (docs/web.md, "Block page over HTTPS").

A browser that asks for https://blocked.example/ reaches kidshield (the DNS sent it there),
but kidshield holds no certificate for that name: the browser shows a certificate error, and
for sites that are HTTPS-only it cannot be clicked through. With ``[web] local_ca = true``
kidshield makes its own CA once (kept in ``data_dir/ca/``, the key readable only by its
owner) and, on the HTTPS block listener, answers each name the browser asks for with a
short-lived certificate for that name signed by it. A device that trusts the CA (the parent
installs ``/ca.crt`` on it) then shows the block page with its "ask" button; any other device
sees a certificate error, as before.

The trade-off: whoever holds the CA's key can make certificates those devices trust for any
site. The key never leaves the machine, the certificates it makes on the block listener are
for the names asked there, and a parent can remove the CA from a device at any time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import ssl
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kidshield.errors import KidshieldError

CA_DAYS = 5 * 365
LEAF_DAYS = 7  # short: a leaf that leaked is of little use for long
CACHE = 512  # certificates kept ready, most recently asked first


class CertificateError(KidshieldError):
    """The local CA's files cannot be read or written."""


@dataclass(frozen=True)
class LocalCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate, as devices show it when installing it."""
        digest = hashlib.sha256(self.der).hexdigest().upper()
        return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))

    @property
    def expires(self) -> datetime:
        return self.cert.not_valid_after_utc


def load_or_create(folder: Path, now: datetime, label: str = "kidshield") -> LocalCA:
    """The CA in ``folder`` (made there on first use: ``ca.key`` mode 0600, ``ca.crt``)."""
    key_path, cert_path = folder / "ca.key", folder / "ca.crt"
    try:
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise CertificateError(f"{key_path}: not an EC key made by kidshield")
            return LocalCA(key, cert)
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{label} local CA"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, label)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(hours=1))
                .not_valid_after(now + timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        _write_private(key_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return LocalCA(key, cert)
    except (OSError, ValueError) as exc:
        raise CertificateError(f"the local CA in {folder} cannot be used: {exc}") from None


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class CertificateMaker:
    """Certificates for the names browsers ask for on the block listener, signed by the local
    CA, each in a ready ``SSLContext`` (one leaf key for all of them, kept in memory)."""

    def __init__(self, ca: LocalCA, clock: Callable[[], datetime],
                 fallback_name: str = "kidshield.home.arpa") -> None:
        self.ca = ca
        self.clock = clock
        self.fallback_name = fallback_name
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._key_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        self._contexts: OrderedDict[str, tuple[ssl.SSLContext, datetime]] = OrderedDict()
        self._lock = threading.Lock()
        self.made = 0

    def certificate(self, name: str) -> x509.Certificate:
        now = self.clock()
        try:
            san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            san = x509.DNSName(name)
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))
                .issuer_name(self.ca.cert.subject).public_key(self._key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(hours=1))
                .not_valid_after(min(now + timedelta(days=LEAF_DAYS), self.ca.expires))
                .add_extension(x509.SubjectAlternativeName([san]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca.key.public_key()), critical=False)
                .sign(self.ca.key, hashes.SHA256()))

    def context_for(self, name: str) -> ssl.SSLContext:
        name = name.lower().rstrip(".")
        now = self.clock()
        with self._lock:
            found = self._contexts.get(name)
            if found is not None and found[1] > now + timedelta(days=1):
                self._contexts.move_to_end(name)
                return found[0]
        cert = self.certificate(name)
        context = server_context()
        # ssl loads chains from files only: a private temporary file, removed at once
        with tempfile.NamedTemporaryFile("wb", suffix=".pem") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM) + self.ca.pem + self._key_pem)
            fh.flush()
            context.load_cert_chain(fh.name)
        with self._lock:
            self._contexts[name] = (context, cert.not_valid_after_utc)
            self.made += 1
            while len(self._contexts) > CACHE:
                self._contexts.popitem(last=False)
        return context

    def server_context(self) -> ssl.SSLContext:
        """The listener's context: it picks each connection's certificate by the name the
        browser sent (SNI); without a name, the child page's."""
        context = self.context_for(self.fallback_name)

        def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            if name:
                sslobj.context = self.context_for(name)

        context.sni_callback = pick
        return context


def server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context
