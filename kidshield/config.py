"""The configuration file: TOML in, validated models out.

Every problem is reported as ``file:line key.path: what is wrong (what would be valid)`` and all
problems are reported at once, so a parent can fix the file in one go.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import types
import typing
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kidshield.errors import ConfigError, InputError
from kidshield.policy.ages import AgeBand, SafeSearchMode
from kidshield.policy.domains import normalize_name
from kidshield.policy.helpline_data import (
    KEYS,
    HelplineDataError,
    check_ages,
    check_checked,
    check_country,
    check_id,
    check_language,
    check_phone,
    check_url,
    check_whatsapp,
    entry,
)
from kidshield.policy.helpline_data import check_domain as check_helpline_domain
from kidshield.policy.helplines import Helpline, Kind
from kidshield.policy.schedule import parse_days, parse_hhmm
from kidshield.tomlpos import key_lines, line_of

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_hhmm(value: str) -> str:
    parse_hhmm(value)
    return value


def _days(value: list[str] | str) -> list[str] | str:
    parse_days(value)
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone (e.g. 'Europe/London', 'America/New_York')"
        ) from None
    return value


def check_domain(value: str) -> str:
    try:
        return normalize_name(value)
    except InputError as exc:
        raise ValueError(str(exc)) from None


def _ident(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid name (lower-case letters, digits, '-' and '_')"
        )
    return value


_SECRET_RE = re.compile(r"[a-z0-9]{16,63}")


def _secret_id(value: str) -> str:
    # a DNS label (it rides in the DoT name) with at least 80 bits when random base32
    if not _SECRET_RE.fullmatch(value):
        raise ValueError(
            "a device secret is 16 to 63 lower-case letters and digits (the dashboard's "
            "Devices page issues one: 'Encrypted DNS')")
    return value


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR range") from None


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _ipv6(value: str) -> str:
    try:
        return str(ipaddress.IPv6Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv6 address") from None


def _mac(value: str) -> str:
    text = value.strip().lower().replace("-", ":")
    if not re.fullmatch(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", text):
        raise ValueError(f"{value!r} is not a MAC address like 'aa:bb:cc:dd:ee:ff'")
    return text


def _listen(value: str) -> str:
    parse_hostport(value, 53)
    return value


def parse_hostport(value: str, default_port: int) -> tuple[str, int]:
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r}: {host!r} is not an IP address") from None
    if port_text:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"{value!r}: the port must be a number from 0 to 65535")
        return host, int(port_text)
    return host, default_port


UPSTREAM_SCHEMES = ("udp", "tcp", "tls", "https")


def _upstream(value: str) -> str:
    text = value if "://" in value else f"udp://{value}"
    parts = urlsplit(text)
    if parts.scheme not in UPSTREAM_SCHEMES:
        raise ValueError(
            f"{value!r}: upstream must start with udp://, tcp://, tls:// or https://"
        )
    if not parts.hostname:
        raise ValueError(f"{value!r}: upstream needs a host")
    if parts.scheme in ("udp", "tcp"):
        try:
            ipaddress.ip_address(parts.hostname)
        except ValueError:
            raise ValueError(
                f"{value!r}: plain DNS upstreams need an IP address, not a name"
            ) from None
    return text


def _bedtime(value: str) -> str:
    if value != "off":
        try:
            parse_hhmm(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time (HH:MM)") from None
    return value


Time = Annotated[str, AfterValidator(check_hhmm)]
BedTime = Annotated[str, AfterValidator(_bedtime)]
Days = Annotated[list[str] | str, AfterValidator(_days)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Domain = Annotated[str, AfterValidator(check_domain)]
Ident = Annotated[str, AfterValidator(_ident)]
Network = Annotated[str, AfterValidator(_network)]
Mac = Annotated[str, AfterValidator(_mac)]
SecretId = Annotated[str, AfterValidator(_secret_id)]
Listen = Annotated[str, AfterValidator(_listen)]
Upstream = Annotated[str, AfterValidator(_upstream)]

BlockMode = Literal["block_page", "null_ip", "nxdomain", "refused"]
ListFormat = Literal["auto", "hosts", "domains", "adblock", "ut1"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Model):
    timezone: TimeZone = "UTC"
    country: str = Field("", description="ISO country code for helplines, e.g. 'GB'")
    helpline_max_age_months: int = Field(
        12, ge=0, le=120, description="'config check' warns about helpline entries not checked "
        "against their source for longer than this; 0 = never")
    storage: str = "kidshield.db"
    data_dir: str = "kidshield-data"
    default_profile: Ident | None = None
    builtin_lists: bool = Field(
        True, description="use the category lists shipped with kidshield (docs/lists.md)"
    )

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        # a URL of another database (mysql://, a typo of the scheme) reached SQLAlchemy and
        # ended the start with a traceback about a missing driver
        scheme = value.partition("://")[0].lower() if "://" in value else ""
        if scheme and scheme not in ("sqlite", "postgresql") and \
                not scheme.startswith(("sqlite+", "postgresql+")):
            raise ValueError(f"{scheme}:// is not a database kidshield uses: give a file path "
                             "(SQLite) or a postgresql+psycopg:// URL (docs/storage.md)")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"{value!r} is not a two-letter country code like 'GB'")
        return check_country(value) if value else value


class DnsConfig(_Model):
    listen: list[Listen] = ["127.0.0.1:5353"]
    upstreams: list[Upstream] = ["udp://9.9.9.9:53", "udp://149.112.112.112:53"]
    block_mode: BlockMode = "block_page"
    block_page_ipv4: Annotated[str, AfterValidator(_ipv4)] | None = None
    block_page_ipv6: Annotated[str, AfterValidator(_ipv6)] | None = None
    block_ttl: int = Field(10, ge=0, le=3600)
    allow_networks: list[Network] = [
        "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
        "fc00::/7", "fe80::/10", "169.254.0.0/16",
    ]
    rate_limit_qps: int = Field(200, ge=0, description="answers per second per client; 0 = off")
    cache_size: int = Field(100_000, ge=0)
    cache_mb: int = Field(16, ge=0, le=1 << 16, description="memory for cached answers, in "
                          "MiB (16 suits a Raspberry Pi); 0 = no cache")
    cache_min_ttl: int = Field(0, ge=0)
    cache_max_ttl: int = Field(86_400, ge=1)
    serve_stale: bool = True
    upstream_timeout: float = Field(
        2.0, ge=0.05, le=30, description="seconds to wait for an upstream's answer before "
        "asking the next one (0.05 to 30)")
    tls_certificate: str | None = None
    tls_key: str | None = None
    tls_name: Domain | None = Field(
        None, description="the name in the TLS certificate that devices use for DNS over "
        "TLS/HTTPS, e.g. 'dns.example.org'; with a wildcard certificate (*.dns.example.org) "
        "each device's secret rides in its DoT name (Android's Private DNS)")
    dot_listen: list[Listen] = []
    trusted_forwarders: list[Network] = Field(
        [], description="routers whose MAC (EDNS option 65001) and client subnet (ECS) options "
        "choose the profile of the device behind them")
    proxy_protocol_from: list[Network] = Field(
        [], description="load balancers (dnsdist with useProxyProtocol=true) that put a PROXY "
        "protocol v2 header before each query naming the device; from these addresses the "
        "header is required, from any other it is never read")
    doh_listen: list[Listen] = Field(
        [], description="DNS over HTTPS on a listener of its own, HTTP/2 and HTTP/1.1 (needs "
        "tls_certificate): /dns-query only, no dashboard, so it may face the internet")

    @model_validator(mode="after")
    def _consistent(self) -> DnsConfig:
        if self.cache_min_ttl > self.cache_max_ttl:
            raise ValueError(f"cache_min_ttl ({self.cache_min_ttl}) is larger than "
                             f"cache_max_ttl ({self.cache_max_ttl})")
        if bool(self.tls_certificate) != bool(self.tls_key):
            raise ValueError("tls_certificate and tls_key go together: set both or neither")
        if self.doh_listen and not self.tls_certificate:
            raise ValueError("doh_listen needs tls_certificate and tls_key (DNS over HTTPS)")
        return self

    @field_validator("proxy_protocol_from")
    @classmethod
    def _balancers_only(cls, networks: list[str]) -> list[str]:
        for network in networks:
            if network.endswith("/0"):
                raise ValueError(
                    f"{network!r} would require a PROXY header from every device and believe "
                    "any address one claims: list only your load balancers' addresses, e.g. "
                    "'10.0.0.2/32'")
        return networks


def _public_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not a web address like 'http://kidshield.lan:8080'")
    if parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r}: give the address only (no ?query, #part or user)")
    return value.strip().rstrip("/")


LOCAL_NETWORKS = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                  "fc00::/7", "fe80::/10", "169.254.0.0/16"]


class WebConfig(_Model):
    """The web server (docs/web.md, "Security model" and "Limits")."""

    listen: Listen = "127.0.0.1:8080"
    public_url: Annotated[str, AfterValidator(_public_url)] | None = Field(
        None, description="how parents reach the dashboard, e.g. 'https://kidshield.lan': "
        "every link kidshield sends (notifications, the setup link) starts with it")
    setup_networks: list[Network] = Field(
        LOCAL_NETWORKS, description="where the one-time setup link may be used from")
    setup_minutes: int = Field(60, ge=1, le=7 * 24 * 60,
                               description="how long a setup link works after the start")
    trusted_proxies: list[Network] = Field(
        [], description="reverse proxies whose X-Forwarded-For/-Proto are believed")
    header_timeout: float = Field(10, gt=0, le=300,
                                  description="seconds for a request's headers to arrive")
    idle_timeout: float = Field(5, gt=0, le=3600,
                                description="seconds an idle kept-alive connection stays open")
    body_timeout: float = Field(15, gt=0, le=3600,
                                description="seconds a request body may pause")
    max_connections: int = Field(512, ge=1, le=100_000)
    max_connections_per_client: int = Field(64, ge=1, le=100_000)
    hsts: bool = Field(True, description="Strict-Transport-Security over HTTPS")
    local_ca: bool = Field(
        False, description="make a local CA so the block page also shows over HTTPS on devices "
        "that trust it (docs/web.md)")
    block_https_listen: Listen | None = Field(
        None, description="where the block page listens for HTTPS (port 443 of the block "
        "page address); needs local_ca = true")

    @model_validator(mode="after")
    def _ca_needed(self) -> WebConfig:
        if self.block_https_listen and not self.local_ca:
            raise ValueError("block_https_listen needs local_ca = true: without a certificate "
                             "the device trusts, no block page can show over HTTPS")
        return self


class MediaConfig(_Model):
    """Image uploads to the hash banks (docs/media.md)."""

    max_upload_mb: int = Field(32, ge=1, le=1024)
    max_pixels: int = Field(24_000_000, ge=1_000, le=500_000_000,
                            description="larger images are refused before decoding")
    max_decodes: int = Field(2, ge=1, le=64, description="images decoded at the same time")


class MetricsConfig(_Model):
    """Prometheus metrics (docs/deploying.md, "Monitoring")."""

    listen: Annotated[str, AfterValidator(_listen)] | None = Field(
        None, description="a listener of its own for /metrics (e.g. '127.0.0.1:9153'), also "
        "with --no-web")
    web: bool = Field(True, description="also serve /metrics on the web listener, behind "
                      "a parent's session or an API token with the metrics scope")
    auth: bool = Field(True, description="on the web listener, a session or API token with "
                       "the metrics scope is needed; false: anyone who reaches the listener "
                       "(the counts are per profile: not for children's eyes)")
    token_file: str | None = Field(
        None, description="a file holding a token that scrapers must send as "
        "'Authorization: Bearer <token>'")


class FleetConfig(_Model):
    """Zones for other resolvers, served over AXFR/IXFR (docs/fleet.md)."""

    listen: Listen | None = Field(
        None, description="where engines pull the zones (AXFR/IXFR over TCP, SOA over UDP), "
        "e.g. '192.0.2.10:5300'; unset: no transfers")
    allow_transfer: list[Network] = Field(
        ["127.0.0.0/8", "::1/128"], description="who may pull the zones")
    notify: list[Listen] = Field(
        [], description="engines told (DNS NOTIFY) when a zone changes, e.g. '192.0.2.53:53'")
    out: str | None = Field(
        None, description="folder for the zone files and engine configurations "
        "(default: <data_dir>/fleet)")
    primary: Listen | None = Field(
        None, description="the address engines pull from, written into their configurations "
        "(default: listen)")
    block_page_ipv4: Annotated[str, AfterValidator(_ipv4)] | None = Field(
        None, description="the block page's address as the fleet's clients reach it "
        "(default: dns.block_page_ipv4)")
    block_page_ipv6: Annotated[str, AfterValidator(_ipv6)] | None = None
    block_host: Domain | None = Field(
        None, description="compact zones: blocked names become a CNAME to this name, which "
        "must resolve to the block page (docs/fleet.md)")
    unbound_out: str | None = Field(
        None, description="folder where 'kidshield serve' keeps 'kidshield export unbound' "
        "current for Unbound's Python module (docs/fleet.md); unset: not written")


class LoggingConfig(_Model):
    retention_days: int = Field(7, ge=0, le=3650)
    only_blocked: bool = False
    anonymize_clients: bool = True


class ListConfig(_Model):
    name: Ident
    source: str
    format: ListFormat = "auto"
    category: Ident | None = None
    enabled: bool = True
    allow: bool = Field(False, description="an allow list: its entries are exceptions")
    update_hours: int = Field(24, ge=1)

    @model_validator(mode="after")
    def _category_needed(self) -> ListConfig:
        if self.format == "ut1" and self.source.startswith(("http://", "https://")):
            raise ValueError(
                f"list {self.name!r}: a UT1 list is a folder of <category>/domains files; "
                "download and unpack it, then give the folder's path as source"
            )
        if self.format != "ut1" and not self.allow and self.category is None:
            raise ValueError(
                f"list {self.name!r} needs a category (e.g. category = \"adult\"), "
                "unless it is a UT1 folder (format = \"ut1\") or an allow list (allow = true)"
            )
        return self


class ClientConfig(_Model):
    name: str
    profile: Ident
    addresses: list[Network] = []
    macs: list[Mac] = []
    client_ids: list[Ident] = Field(
        [], description="names a device may give in its DoH path or DoT name; a name never "
        "overrides the profile of a device's address (anyone can type a name)")
    secret_ids: list[SecretId] = Field(
        [], description="device secrets (DoH path, DoT name): they select this profile from "
        "any address, also from outside dns.allow_networks; issued on the Devices page")


class ScheduleConfig(_Model):
    name: str = "schedule"
    days: Days = "daily"
    start: Time = Field(alias="from")
    end: Time = Field(alias="to")
    action: Literal["block", "allow_only"] = "block"
    services: list[Ident] = []
    categories: list[Ident] = []


class ProfileConfig(_Model):
    name: str | None = None
    birth_date: date | None = None
    age_band: AgeBand | None = None
    timezone: TimeZone | None = None
    filtering: bool = True
    keep_filtering_after_18: bool = False
    shared: bool = Field(False, description="used by several people (family devices, a "
                         "class): the child page greets everyone, not the profile's name")
    blocked_categories: list[Ident] | None = None
    extra_blocked_categories: list[Ident] = []
    unblocked_categories: list[Ident] = []
    blocked_services: list[Ident] | None = None
    extra_blocked_services: list[Ident] = []
    unblocked_services: list[Ident] = []
    safe_search: SafeSearchMode | None = None
    youtube: SafeSearchMode | None = None
    bypass_protection: bool | None = None
    bedtime: BedTime | None = None
    wake_up: Time | None = None
    bedtime_days: Days = "daily"
    schedules: list[ScheduleConfig] = []
    budgets: dict[Ident, Annotated[int, Field(ge=0, le=1440)]] = {}
    allow: list[Domain] = []
    allow_free_time: list[Domain] = Field(
        [], description="allowed except at bedtime, in schedules and when a budget is used up")
    learning_sites: list[Domain] = Field(
        [], description="still open while the internet is paused (school and learning sites)")
    deny: list[Domain] = []

    @model_validator(mode="after")
    def _age_known(self) -> ProfileConfig:
        if self.birth_date is not None and self.age_band is not None:
            raise ValueError(
                "give a birth_date or an age_band, not both: with a birth date the band follows "
                "the child's age (to keep filtering after 18, set keep_filtering_after_18 = true)"
            )
        if self.birth_date is None and self.age_band is None:
            raise ValueError(
                "give a birth_date (YYYY-MM-DD) or an age_band "
                "('under-9', '9-12', '13-15', '16-17', 'adult')"
            )
        if self.bedtime == "off":
            if self.wake_up is not None:
                raise ValueError("bedtime = \"off\" has no wake_up time: remove wake_up")
        elif (self.bedtime is None) != (self.wake_up is None):
            raise ValueError("bedtime and wake_up go together: set both or neither "
                             "(or bedtime = \"off\" for no bedtime at all)")
        elif (self.bedtime is not None and self.wake_up is not None
              and parse_hhmm(self.bedtime) % 1440 == parse_hhmm(self.wake_up) % 1440):
            # a window that ends when it starts covers the whole day: one slip on the
            # dashboard's bedtime form cut a child off day and night (the family walk)
            raise ValueError(f"bedtime and wake_up are both {self.wake_up}: the internet "
                             "would stop for the whole day, every day; give the time it "
                             "starts again (or bedtime = \"off\" for no bedtime at all)")
        return self


def _web_url(value: str) -> str:
    if value and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(f"{value!r} is not a web address like 'https://ntfy.example.org/topic'")
    return value.rstrip("/") if value.count("/") == 3 else value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


WebUrl = Annotated[str, AfterValidator(_web_url)]
Email = Annotated[str, AfterValidator(_email)]

# Member states of the EEA, the codes the DSA Transparency Database accepts as scope.
EEA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
})


def _eea(value: str) -> str:
    code = value.upper()
    if code not in EEA_COUNTRIES:
        raise ValueError(f"{value!r} is not an EU/EEA country code (like 'DE' or 'IE')")
    return code


class SmtpConfig(_Model):
    """Outgoing mail for every notification (docs/configuration.md)."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password_file: str = Field("", description="a file holding only the password, so the "
                               "password stays out of this file")
    sender: str = Field("", description="the From address, e.g. 'kidshield@example.org'")

    @model_validator(mode="after")
    def _sender_needed(self) -> SmtpConfig:
        if self.host and not self.sender:
            raise ValueError("an SMTP host needs a sender address (sender = ...)")
        if self.sender:
            _email(self.sender)
        return self


class OnCallConfig(_Model):
    """Who is alerted at once when a report says a child is in danger now, or reports child
    sexual abuse material (docs/reports.md, on-call alerting)."""

    ntfy: list[WebUrl] = []
    emails: list[Email] = []
    webhooks: list[WebUrl] = []
    imminent_target_minutes: int = Field(60, ge=5, le=1440, description="time to act on "
                                         "an imminent-danger case")
    abuse_target_hours: int = Field(24, ge=1, le=168, description="time to act on an "
                                    "abuse-material case")
    realert_minutes: int = Field(15, ge=1, le=1440, description="alert again while nobody "
                                 "has taken the case")


class EmergencyConfig(_Model):
    """The emergency path: whom staff call when a child's life or safety is at risk now
    (DSA Art. 18), shown on every imminent-danger case."""

    police: str = Field("", description="who to call, e.g. 'Police (emergency)'")
    phone: str = Field("", description="e.g. '112'")
    email: str = ""
    instructions: str = Field("", description="your procedure, in a few lines")


class ReportsConfig(_Model):
    """Reports, cases and evidence (docs/reports.md). Query log retention stays under
    [logging]; the other kinds are here. 0 days means keep until deleted by hand."""

    evidence_retention_days: int = Field(
        365, ge=365, le=36500, description="preserved evidence is kept at least a year"
    )
    reports_retention_days: int = Field(365, ge=0, le=36500)
    cases_retention_days: int = Field(730, ge=0, le=36500, description="after a case closes")
    audit_retention_days: int = Field(730, ge=0, le=36500)
    drafts_retention_days: int = Field(7, ge=0, le=365)
    block_list: str = Field("reports-block.txt", description="in data_dir: sites blocked "
                            "after under-blocking reports")
    allow_list: str = Field("reports-allow.txt", description="in data_dir: sites opened "
                            "after over-blocking reports")
    keep_reporter_ip: bool = Field(
        False, description="allow reporters to opt in to keeping their IP address"
    )
    organisation: str = Field("", description="your organisation's name, in escalation "
                              "packages and transparency reports")
    organisation_contact: str = Field("", description="how an authority reaches you")
    site_url: WebUrl = Field("", description="this server's address as reporters and staff "
                             "reach it, for links in e-mails and alerts")
    appeal_window_days: int = Field(184, ge=184, le=3650, description="at least six months "
                                    "(DSA Art. 20)")
    public_transparency: bool = Field(False, description="publish /transparency to everyone")
    territorial_scope: list[Annotated[str, AfterValidator(_eea)]] = Field(
        [], description="where decisions apply, for statements of reasons (default: the "
        "server's country)")
    terms_url: WebUrl = Field("", description="your terms and conditions, cited in decisions")
    signing_key: str = Field("evidence-signing.key", description="in data_dir: the Ed25519 "
                             "key that signs the evidence chain (created on first start)")
    contact_key: str = Field("reporter-digest.key", description="in data_dir: the key of "
                             "the reporters' e-mail digests (created on first start; back it "
                             "up with the database, without it known reporters count as new)")
    misuse_warn_after: int = Field(3, ge=1, le=1000)
    misuse_suspend_after: int = Field(5, ge=1, le=1000)
    misuse_window_days: int = Field(180, ge=1, le=3650)
    misuse_suspend_days: int = Field(30, ge=1, le=365)
    on_call: OnCallConfig = OnCallConfig()
    emergency: EmergencyConfig = EmergencyConfig()

    @model_validator(mode="after")
    def _misuse_order(self) -> ReportsConfig:
        if self.misuse_suspend_after < self.misuse_warn_after:
            raise ValueError("misuse_suspend_after must not be below misuse_warn_after "
                             "(a source is warned before it is suspended)")
        return self


HelplineId = Annotated[str, AfterValidator(check_id)]
Country = Annotated[str, AfterValidator(check_country)]
Language = Annotated[str, AfterValidator(check_language)]
Phone = Annotated[str, AfterValidator(check_phone)]
WhatsApp = Annotated[str, AfterValidator(check_whatsapp)]
Url = Annotated[str, AfterValidator(check_url)]
Checked = Annotated[date | str, AfterValidator(check_checked)]
HelplineDomain = Annotated[str, AfterValidator(check_helpline_domain)]
Text = Annotated[str, Field(min_length=1)]


class HelplineConfig(_Model):
    """A local service (or a correction of a shipped entry with the same id): its domains are
    exempt from every block and it is shown to children like the shipped ones
    (docs/helplines.md)."""

    id: HelplineId
    country: Country | None = None
    name: Text | None = None
    name_en: Text | None = None
    kind: Kind | None = None
    phone: Phone | None = None
    text: Phone | None = None
    whatsapp: WhatsApp | None = None
    chat: bool | Url | None = None
    hours: Text | None = None
    languages: list[Language] | None = None
    ages: Annotated[str, AfterValidator(check_ages)] | None = None
    url: Url | None = None
    domains: list[HelplineDomain] | None = None
    source: Url | None = None
    checked: Checked | None = None
    note: Text | None = None

    def written(self) -> dict[str, object]:
        """The keys as the operator wrote them (for merging over a shipped entry)."""
        return {key: getattr(self, key) for key in self.model_fields_set}


class Config(_Model):
    server: ServerConfig = ServerConfig()
    dns: DnsConfig = DnsConfig()
    web: WebConfig = WebConfig()
    metrics: MetricsConfig = MetricsConfig()
    media: MediaConfig = MediaConfig()
    logging: LoggingConfig = LoggingConfig()
    fleet: FleetConfig = FleetConfig()
    reports: ReportsConfig = ReportsConfig()
    smtp: SmtpConfig = SmtpConfig()
    lists: list[ListConfig] = []
    clients: list[ClientConfig] = []
    profiles: dict[Ident, ProfileConfig] = {}
    helplines: list[HelplineConfig] = []
    # where the file was read from; relative paths in it are relative to this folder
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="<defaults>", exclude=True)
    text: str = Field(default="", exclude=True, repr=False)
    # settings changed in the dashboard, kept over the file (kidshield/state/overlay.py):
    # dotted path (profiles.mia.bedtime) -> who changed it and when
    edited: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    def origin(self, *path: str | int, needle: str | None = None) -> tuple[str, int | None]:
        """Where a setting comes from: the file and line, or the dashboard change that set
        it (then no line)."""
        for end in range(len(path), 0, -1):
            key = ".".join(str(p) for p in path[:end])
            if key in self.edited:
                return self.edited[key], None
        return self.source, self.line_of(*path, needle=needle)

    def line_of(self, *path: str | int, needle: str | None = None) -> int | None:
        """The line where a setting is written; with ``needle``, the first line at or after
        it that mentions the needle (an item of a multi-line array)."""
        start = line_of(key_lines(self.text), tuple(path)) if self.text else None
        if start is None or needle is None:
            return start
        return _needle_line(self.text, start, needle)

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def storage_target(self, storage: str | None = None) -> str | Path:
        """The database: a URL as written, or a file path relative to this configuration.
        ``storage`` overrides ``[server] storage`` (a command's --db option)."""
        value = storage or self.server.storage
        return value if "://" in value else self.path(value)


def _needle_line(text: str, start: int, needle: str) -> int:
    """The first line at or after ``start`` that mentions ``needle``, else ``start``."""
    needle = needle.lower()
    for number, line in enumerate(text.splitlines()[start - 1 :], start=start):
        if needle in line.lower():
            return number
    return start


def _loc_text(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _valid_keys(loc: tuple[str | int, ...]) -> list[str] | None:
    """The setting names valid at ``loc`` (for 'unknown setting' errors)."""
    model: Any = Config
    in_mapping = False  # the next part is a key of a table like [profiles.<id>]
    for part in loc:
        if isinstance(part, int):
            continue
        if in_mapping:
            in_mapping = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        in_mapping = _is_mapping(field.annotation)
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(f.alias or n for n, f in model.model_fields.items() if not f.exclude)
    return None


def _is_mapping(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType, Annotated):
        return any(_is_mapping(arg) for arg in typing.get_args(annotation))
    return False


def _inner_model(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (list, dict, typing.Union, types.UnionType, Annotated):
        for arg in reversed(typing.get_args(annotation)):
            inner = _inner_model(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
        return None
    return annotation


def _describe(error: Any) -> str:
    kind = error["type"]
    msg: str = error["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind == "missing":
        return "this setting is required"
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f"{value!r}: "
    return f"{shown}{msg[0].lower()}{msg[1:]}"


def parse_config(text: str, source: str = "<string>", base_dir: Path | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}:{toml_error_position(exc, text)}: not valid TOML: "
                           f"{toml_error_message(exc)}"]) from None
    return validate_data(data, text, source, base_dir)


def toml_error_position(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """``line:column`` of a TOML error. Python 3.11's error carries them only in its message,
    and an error at the end of the file ("at end of document") has none: the end is where."""
    match = re.search(r"\(at line (\d+), column (\d+)\)$", str(exc))
    if match:
        return f"{match.group(1)}:{match.group(2)}"
    lines = text.split("\n")
    return f"{len(lines)}:{len(lines[-1]) + 1}"


def toml_error_message(exc: tomllib.TOMLDecodeError) -> str:
    """What was wrong, without the position the caller puts in front."""
    return re.sub(r" \(at (line \d+, column \d+|end of document)\)$", "", str(exc))


def validate_data(data: dict[str, Any], text: str = "", source: str = "<string>",
                  base_dir: Path | None = None) -> Config:
    """Validate settings as TOML would give them (``text``, when there is one, gives the
    lines that errors point at); every problem at once in a ConfigError."""
    lines = key_lines(text) if text else {}
    try:
        config = Config.model_validate(
            {**data, "base_dir": base_dir or Path("."), "source": source, "text": text}
        )
    except ValidationError as exc:
        problems: list[tuple[int, str]] = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-after"))
            # pydantic adds the member type to union/annotated locs; keep the TOML path only
            loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
            line = line_of(lines, loc)
            value = error.get("input")
            if line and loc and isinstance(loc[-1], int) and isinstance(value, str) and value:
                line = _needle_line(text, line, value)  # an item of a multi-line array
            where = f"{source}:{line}" if line else source
            message = _describe(error)
            if error["type"] == "extra_forbidden":
                valid = _valid_keys(loc[:-1])
                if valid:
                    message += f" (valid here: {', '.join(valid)})"
            problems.append((line or 0, f"{where} {_loc_text(loc)}: {message}"))
        raise ConfigError([text for _, text in sorted(problems, key=lambda p: p[0])]) from None
    cross = _cross_check(config, lines, source)
    if cross:
        raise ConfigError(cross)
    return config


def _cross_check(config: Config, lines: dict[tuple[str | int, ...], int], source: str) -> list[str]:
    """Checks that span sections: clients point at profiles, names are unique, ..."""
    problems: list[tuple[int, str]] = []

    def report(loc: tuple[str | int, ...], message: str) -> None:
        line = line_of(lines, loc)
        where = f"{source}:{line}" if line else source
        problems.append((line or 0, f"{where} {_loc_text(loc)}: {message}"))

    known = sorted(config.profiles)
    shown = ", ".join(known) or "none defined"
    for i, client in enumerate(config.clients):
        if client.profile not in config.profiles:
            report(("clients", i, "profile"), f"no profile named {client.profile!r} ({shown})")
        if not (client.addresses or client.macs or client.client_ids or client.secret_ids):
            report(("clients", i), "a client needs addresses, macs, client_ids or secret_ids "
                   "to be matched")
    named: dict[str, int] = {}
    for i, client in enumerate(config.clients):
        for key in ("client_ids", "secret_ids"):
            for j, cid in enumerate(getattr(client, key)):
                if cid in named and named[cid] != i:
                    report(("clients", i, key, j), f"{cid!r} is already used by "
                           f"clients[{named[cid]}]")
                named.setdefault(cid, i)
    default = config.server.default_profile
    if default is not None and default not in config.profiles:
        report(("server", "default_profile"), f"no profile named {default!r} ({shown})")
    seen: dict[str, int] = {}
    for i, lst in enumerate(config.lists):
        if lst.name.startswith("builtin-"):
            report(("lists", i, "name"), f"{lst.name!r}: names starting with 'builtin-' are "
                   "kept for the lists shipped with kidshield; choose another name")
        if lst.name in seen:
            first = seen[lst.name]
            report(("lists", i, "name"), f"{lst.name!r} is already used by lists[{first}]")
        seen.setdefault(lst.name, i)
    if config.reports.on_call.emails and not config.smtp.host:
        report(("reports", "on_call", "emails"), "alert e-mails need an SMTP server: set [smtp] "
               "host and sender (or use ntfy or webhooks)")
    ids: dict[str, int] = {}
    for i, own in enumerate(config.helplines):
        if own.id in ids:
            report(("helplines", i, "id"),
                   f"{own.id!r} is already used by helplines[{ids[own.id]}]")
        ids.setdefault(own.id, i)
    try:
        own_helplines(config)
    except HelplineDataError as exc:
        for problem in exc.problems:
            at = re.search(r":(\d+) ", problem)
            problems.append((int(at.group(1)) if at else 0, problem))
    return [text for _, text in sorted(problems, key=lambda p: p[0])]


def own_helplines(config: Config, shipped: Sequence[Helpline] | None = None) -> list[Helpline]:
    """The operator's ``[[helplines]]`` as helplines: an entry whose id is shipped corrects
    that entry (keys not written keep the shipped values), a new id must say at least its
    country and name. ``shipped`` defaults to the shipped data."""
    if not config.helplines:
        return []
    if shipped is None:
        from kidshield.policy.catalog import default_catalog

        shipped = default_catalog().helplines
    by_id = {line.id: line for line in shipped}
    lines = key_lines(config.text) if config.text else {}
    out: list[Helpline] = []
    problems: list[str] = []
    for i, own in enumerate(config.helplines):
        start = line_of(lines, ("helplines", i)) or 0
        keys = {key: line_of(lines, ("helplines", i, key)) or start for key in KEYS}
        try:
            out.append(entry(own.written(), f"{config.source}:{start}", by_id.get(own.id), keys))
        except HelplineDataError as exc:
            problems.extend(p.replace(" ", f" helplines[{i}].", 1) for p in exc.problems)
    if problems:
        raise HelplineDataError(problems)
    return out


def load_config(path: str | Path) -> Config:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{file}: no such file (create one with 'kidshield init {file}')"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot be read: {exc}"]) from None
    return parse_config(text, source=str(file), base_dir=file.resolve().parent)
