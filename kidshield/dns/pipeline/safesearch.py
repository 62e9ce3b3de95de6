"""Safe search: a name the policy rewrites is answered with a CNAME to the engine's safe host
(restrict.youtube.com, forcesafesearch.google.com, ...) plus that host's addresses. When the
upstreams fail for the safe host, the SERVFAIL says so as any upstream failure does (reason,
extended errors) and its log row keeps the action ``rewrite`` and the rule: safe search was
being enforced."""

from __future__ import annotations

import io
from collections.abc import Awaitable

import dns.message
import dns.rdatatype
import dns.rrset
from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.pipeline.forward import Forwarder, no_answer
from kidshield.dns.ready import READY_MAX_SECONDS
from kidshield.dns.wire import (
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_HTTPS,
    QTYPE_SVCB,
    WireError,
    opt_of,
    parse_question,
)
from kidshield.policy.reason import Action, Reason

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
        reason = ctx.decision.reason
        options = b""
        out: bytes | None = None
        if q.qtype in _RESOLVED_TYPES:
            sub = dns.message.make_query(target, dns.rdatatype.RdataType(q.qtype), use_edns=0)
            sub.id = 0
            wire = sub.to_wire()
            try:
                sub_q = parse_question(wire)
            except WireError:  # the safe host's name could not be asked
                rcode = Rcode.SERVFAIL
            else:
                found = await self.forwarder.forward(wire, sub_q)
                # the upstreams failed: said as the Upstream stage (or the answer check,
                # for a response) says it
                if isinstance(found, Reason):  # none came, or none could be read
                    rcode, reason = Rcode.SERVFAIL, found
                    out = no_answer(ctx.data, q, records, count)
                elif found[5] is not None:  # their SERVFAIL, or ours for their refusal
                    rcode, reason = Rcode.SERVFAIL, found[5]
                    ctx.upstream = found[1]  # the row names the upstream that failed
                    options = _extended_errors(found[0])  # with its extended errors
                else:
                    for rrset in dns.message.from_wire(found[0]).answer:
                        ttl = min(ttl, rrset.ttl)
                        records.append(_rrset_wire(rrset))
                        count += len(rrset)
        if out is None:
            out = answers.build(ctx.data, q, rcode, records, answer_count=count,
                                options=options)
        ready = 0.0 if rcode else min(ctx.policy_ttl, ttl, READY_MAX_SECONDS)
        return ctx.answered(out, Action.REWRITE, reason, rcode, ready, ctx.decision)


def _extended_errors(response: bytes) -> bytes:
    """The options of the forwarder's failed answer for the safe host: its OPT record is
    ours (the safe host's query used EDNS), holding only extended errors (the upstream's,
    after our 22 when they refused); the options start after its fixed 11 bytes."""
    return opt_of(response)[11:]


def _rrset_wire(rrset: dns.rrset.RRset) -> bytes:
    buffer = io.BytesIO()
    rrset.to_wire(buffer)
    return buffer.getvalue()
