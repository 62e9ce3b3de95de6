"""How a blocked name is answered: the profile's block mode (block page address, 0.0.0.0,
NXDOMAIN or REFUSED), with an RFC 8914 extended error saying why."""

from __future__ import annotations

import ipaddress

from dns.rcode import Rcode

from kidshield.config import DnsConfig, parse_hostport
from kidshield.dns import answers
from kidshield.dns.wire import QTYPE_A, QTYPE_AAAA, Question
from kidshield.policy.https_only import is_https_only
from kidshield.policy.reason import Decision, Reason


class BlockAnswers:
    def __init__(self, cfg: DnsConfig, https_fail_fast: bool = False) -> None:
        """``https_fail_fast``: a name browsers reach only over HTTPS (``.dev``, ``.app``...)
        gets 0.0.0.0/:: instead of the block page's address."""
        self.https_fail_fast = https_fail_fast
        self.mode = cfg.block_mode
        self.ttl = cfg.block_ttl
        self.v4 = _address(cfg.block_page_ipv4, cfg.listen, 4) or "0.0.0.0"
        self.v6 = _address(cfg.block_page_ipv6, cfg.listen, 6) or "::"

    def answer(self, data: bytes, q: Question, decision: Decision) -> tuple[bytes, Rcode]:
        ede = (answers.EDE_FILTERED, f"kidshield: {decision.reason.value}")
        mode = self.mode
        if decision.reason is Reason.BYPASS:
            mode = "nxdomain"  # what Apple and browsers read as "switch the bypass off"
        if mode == "nxdomain":
            return answers.build(data, q, Rcode.NXDOMAIN, ede=ede), Rcode.NXDOMAIN
        if mode == "refused":
            return answers.build(data, q, Rcode.REFUSED, ede=ede), Rcode.REFUSED
        records: list[bytes] = []
        if q.qtype in (QTYPE_A, QTYPE_AAAA):
            if mode == "block_page" and not (self.https_fail_fast and is_https_only(q.name)):
                address = self.v4 if q.qtype == QTYPE_A else self.v6
            else:
                address = "0.0.0.0" if q.qtype == QTYPE_A else "::"
            rdata = answers.address_rdata(q.qtype, address)
            if rdata is not None:
                records.append(answers.rr_at_question(q.qtype, self.ttl, rdata))
        # HTTPS/SVCB and other types: NODATA, so browsers fall back to A/AAAA (the block page)
        return answers.build(data, q, Rcode.NOERROR, records, ede=ede), Rcode.NOERROR


def _address(explicit: str | None, listen: list[str], version: int) -> str | None:
    if explicit:
        return explicit.split("/")[0]
    for item in listen:
        host, _ = parse_hostport(item, 53)
        ip = ipaddress.ip_address(host)
        if ip.version == version and not ip.is_unspecified:
            return host
    return None
