"""Safe search: a name the policy rewrites is answered with a CNAME to the engine's safe host
(restrict.youtube.com, forcesafesearch.google.com, ...) plus that host's addresses."""

from __future__ import annotations

import io
from collections.abc import Awaitable

import dns.message
import dns.rdatatype
import dns.rrset
from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.pipeline.forward import Forwarder
from kidshield.dns.ready import READY_MAX_SECONDS
from kidshield.dns.wire import (
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_HTTPS,
    QTYPE_SVCB,
    WireError,
    parse_question,
)
from kidshield.policy.reason import Action

CNAME_TTL = 300
_RESOLVED_TYPES = (QTYPE_A, QTYPE_AAAA, QTYPE_HTTPS, QTYPE_SVCB)


class SafeSearch:
    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder

    def __call__(self, ctx: QueryContext) -> Flow | Awaitable[Flow]:
        decision = ctx.decision
        if decision is None or decision.action is not Action.REWRITE or not decision.target:
            return NEXT
        return self._rewrite(ctx, decision.target)

    async def _rewrite(self, ctx: QueryContext, target: str) -> Flow:
        assert ctx.decision is not None
        q = ctx.q
        records = [answers.cname(target, CNAME_TTL)]
        count = 1  # records, not RRsets: the safe host may have several addresses
        ttl = float(CNAME_TTL)
        rcode = Rcode.NOERROR
        if q.qtype in _RESOLVED_TYPES:
            sub = dns.message.make_query(target, dns.rdatatype.RdataType(q.qtype), use_edns=0)
            sub.id = 0
            wire = sub.to_wire()
            response = None
            try:
                sub_q = parse_question(wire)
            except WireError:
                pass
            else:
                response = (await self.forwarder.forward(wire, sub_q))[0]
            if response is None or answers.rcode_of(response) == Rcode.SERVFAIL:
                rcode = Rcode.SERVFAIL  # (the upstreams' own SERVFAIL: not a safe host)
            else:
                for rrset in dns.message.from_wire(response).answer:
                    ttl = min(ttl, rrset.ttl)
                    records.append(_rrset_wire(rrset))
                    count += len(rrset)
        out = answers.build(ctx.data, q, rcode, records, answer_count=count)
        ready = 0.0 if rcode else min(ctx.policy_ttl, ttl, READY_MAX_SECONDS)
        return ctx.answered(out, Action.REWRITE, ctx.decision.reason, rcode, ready, ctx.decision)


def _rrset_wire(rrset: dns.rrset.RRset) -> bytes:
    buffer = io.BytesIO()
    rrset.to_wire(buffer)
    return buffer.getvalue()
