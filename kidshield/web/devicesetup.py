"""Encrypted DNS for one device: its secret and the settings a parent copies to the device.

A device secret (``[[clients]] secret_ids``) is what proves a device over DNS over HTTPS or
TLS (profiles.ClientMatcher): random, 128 bits, written in lower-case base32 so it fits in a
DNS label (Android's Private DNS takes a host name only). The settings are shown as text, as a
QR code of the DoH address, and as an Apple configuration profile (.mobileconfig) that iOS and
macOS install as the system's encrypted DNS."""

from __future__ import annotations

import base64
import plistlib
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno

from kidshield.config import ClientConfig, Config
from kidshield.errors import InputError
from kidshield.state.overlay import Change
from kidshield.web.context import WebContext
from kidshield.web.errors import NotFound

SECRET_BYTES = 16
# a fixed namespace: the same secret always gives the same profile identifiers, so installing
# the profile again replaces the old one instead of adding a second
_NAMESPACE = uuid.UUID("6f1d2c3e-5b0a-4e8f-9c41-2a7d3b9e8f10")


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=").lower()


@dataclass(frozen=True, slots=True)
class DeviceSetup:
    device: str
    doh_url: str
    dot_name: str | None  # None: no dns.tls_name, so no DoT name to give
    https: bool  # DoH works on phones and computers only over HTTPS

    def qr_svg(self) -> str:
        """The DoH address as a QR code, an SVG data URI (the page's CSP allows data: images)."""
        return str(segno.make(self.doh_url, error="m").svg_data_uri(scale=4, border=2))

    def mobileconfig(self) -> bytes:
        """An Apple configuration profile with the device's encrypted DNS (DoH; RFC 8484)."""
        seed = self.doh_url
        settings = {"DNSProtocol": "HTTPS", "ServerURL": self.doh_url}
        dns: dict[str, object] = {
            "PayloadType": "com.apple.dnsSettings.managed",
            "PayloadVersion": 1,
            "PayloadIdentifier": f"org.kidshield.dns.{uuid.uuid5(_NAMESPACE, seed)}",
            "PayloadUUID": str(uuid.uuid5(_NAMESPACE, "dns:" + seed)).upper(),
            "PayloadDisplayName": "kidshield encrypted DNS",
            "DNSSettings": settings,
        }
        profile = {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": f"org.kidshield.{uuid.uuid5(_NAMESPACE, seed)}",
            "PayloadUUID": str(uuid.uuid5(_NAMESPACE, "profile:" + seed)).upper(),
            "PayloadDisplayName": f"kidshield: {self.device}",
            "PayloadDescription": "Filters this device's DNS with its kidshield profile, "
                                  "at home and away. Removing it shows in the parents' "
                                  "dashboard as the device no longer being seen.",
            "PayloadScope": "System",
            "PayloadContent": [dns],
        }
        return plistlib.dumps(profile, fmt=plistlib.FMT_XML)


def setup_for(config: Config, device: str, secret: str, web_url: str) -> DeviceSetup:
    """``web_url``: how the web listener (which answers DoH) is reached, e.g. the public
    URL. With ``dns.tls_name`` the DoH address uses that name, on the web listener's port."""
    parts = urlsplit(web_url)
    tls_name = config.dns.tls_name
    https = parts.scheme == "https"
    if tls_name and https:
        port = f":{parts.port}" if parts.port and parts.port != 443 else ""
        base = f"https://{tls_name}{port}"
    else:
        base = web_url.rstrip("/")
    dot_name = f"{secret}.{tls_name}" if tls_name and config.dns.dot_listen else None
    return DeviceSetup(device, f"{base}/dns-query/{secret}", dot_name, https)


# -- what a parent does (the Devices page, the API) ----------------------------------------
def _client(ctx: WebContext, index: int) -> ClientConfig:
    clients = ctx.config.clients
    if not 0 <= index < len(clients):
        raise NotFound(f"no client {index}")
    return clients[index]


def _client_table(client: ClientConfig, **changed: object) -> dict[str, object]:
    table = {k: v for k, v in client.model_dump().items() if v or k in ("name", "profile")}
    table.update(changed)
    return {k: v for k, v in table.items() if v or k in ("name", "profile")}


async def issue_secret(ctx: WebContext, actor: str, index: int) -> str:
    """A new device secret for encrypted DNS (devicesetup.py); it replaces the device's old
    ones, so a secret that got out stops working. The audit log names the device, never
    the secret."""
    client = _client(ctx, index)
    secret = new_secret()
    ctx.editor.change([Change("clients", client.name, _client_table(
        client, secret_ids=[secret]))], actor,
        ctx.audit_entry(actor, "client.secret", client.name, replaced=len(client.secret_ids)))
    return secret


async def revoke_secrets(ctx: WebContext, actor: str, index: int) -> None:
    client = _client(ctx, index)
    if not (client.addresses or client.macs or client.client_ids):
        raise InputError("this device is known by its secret only: remove the device instead")
    ctx.editor.change([Change("clients", client.name, _client_table(client, secret_ids=[]))],
                      actor, ctx.audit_entry(actor, "client.secret.revoke", client.name))
