"""The answer check: the policy applies to every name an upstream answer's CNAME chain leads
to, and to the TargetName of HTTPS/SVCB records, so an allowed name cannot alias a blocked
one. An answer that cannot be read is not passed on (SERVFAIL)."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdatatype
from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.pipeline.blocking import BlockAnswers
from kidshield.dns.pipeline.context import Flow, QueryContext
from kidshield.dns.pipeline.forward import ancount
from kidshield.dns.pipeline.policy import Decisions
from kidshield.dns.wire import QTYPE_HTTPS, QTYPE_SVCB
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Decision, Reason

_CNAME_IN = b"\x00\x05\x00\x01"  # type CNAME, class IN: without it there is nothing to check
_ALIASES = (dns.rdatatype.CNAME, dns.rdatatype.HTTPS, dns.rdatatype.SVCB)


class _Unreadable(Exception):
    """An answer that cannot be parsed, so its names cannot be checked."""


class AnswerCheck:
    def __init__(self, decisions: Decisions, block: BlockAnswers) -> None:
        self.decisions = decisions
        self.block = block

    def __call__(self, ctx: QueryContext) -> Flow:
        response, decision, profile = ctx.response, ctx.decision, ctx.profile
        assert response is not None and decision is not None and profile is not None
        try:
            blocked = self._chain_blocked(response, decision, ctx)
        except _Unreadable:
            # fail closed: an answer whose names cannot be checked is not passed on
            # (upstream answers are parsed strictly when they arrive; this is the backstop)
            ctx.upstream = None
            return ctx.answered(answers.build(ctx.data, ctx.q, Rcode.SERVFAIL), Action.ALLOW,
                                decision.reason, Rcode.SERVFAIL, 0.0, decision)
        if blocked is not None:
            out, rcode = self.block.answer(ctx.data, ctx.q, blocked)
            ctx.upstream = None  # the reply is our block answer, not the upstream's
            return ctx.answered(out, Action.BLOCK, Reason.CNAME_BLOCKED, rcode,
                                min(ctx.policy_ttl, ctx.ready_for), blocked)
        return ctx.answered(response, Action.ALLOW, decision.reason, answers.rcode_of(response),
                            min(ctx.policy_ttl, ctx.ready_for), decision)

    def _chain_blocked(self, response: bytes, decision: Decision,
                       ctx: QueryContext) -> Decision | None:
        # a helpline is reachable whatever its CNAME chain leads to (CDN names may be blocked
        # at bedtime or by a list): helplines beat any block
        if decision.reason is Reason.HELPLINE:
            return None
        if ancount(response) == 0 or (_CNAME_IN not in response
                                      and ctx.q.qtype not in (QTYPE_HTTPS, QTYPE_SVCB)):
            return None
        try:
            msg = dns.message.from_wire(response)
        except Exception:
            raise _Unreadable from None
        profile: Profile | None = ctx.profile
        assert profile is not None
        for rrset in msg.answer:
            if rrset.rdtype not in _ALIASES:
                continue
            for rdata in rrset:
                # HTTPS/SVCB (RFC 9460): the TargetName is where the client connects ("."
                # means the owner itself)
                if rdata.target == dns.name.root:
                    continue
                target = rdata.target.to_text(omit_final_dot=True).lower()
                if target == ctx.q.name:
                    continue
                found = self.decisions.decide(profile, target, ctx.now)
                if found.action is Action.BLOCK:
                    return Decision(Action.BLOCK, Reason.CNAME_BLOCKED, rule=found.rule,
                                    source=found.source, valid_until=found.valid_until,
                                    category=found.category, service=found.service,
                                    band=found.band,
                                    detail={"cname": target, "because": found.reason.value})
        return None
