"""The answer check: the policy applies to every name an upstream answer's CNAME chain leads
to, and to the TargetName of HTTPS/SVCB records, so an allowed name cannot alias a blocked
one. An answer that cannot be read is not passed on (SERVFAIL)."""

from __future__ import annotations

from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.pipeline.blocking import BlockAnswers
from kidshield.dns.pipeline.context import Flow, QueryContext
from kidshield.dns.pipeline.policy import Decisions
from kidshield.dns.wire import WireError, name_at
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Decision, Reason


class _Unreadable(Exception):
    """An answer whose names cannot be read, so they cannot be checked."""


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
        # the upstreams' failure (their SERVFAIL, or ours when they refused): why, in the
        # log, as the forwarder said
        failure = ctx.failure
        reason = decision.reason if failure is None else failure
        return ctx.answered(response, Action.ALLOW, reason, answers.rcode_of(response),
                            min(ctx.policy_ttl, ctx.ready_for), decision)

    def _chain_blocked(self, response: bytes, decision: Decision,
                       ctx: QueryContext) -> Decision | None:
        # a helpline is reachable whatever its CNAME chain leads to (CDN names may be blocked
        # at bedtime or by a list): helplines beat any block
        if decision.reason is Reason.HELPLINE or not ctx.targets:
            return None
        profile: Profile | None = ctx.profile
        assert profile is not None
        # the names the answer section's CNAME records lead to, and the TargetNames of its
        # HTTPS/SVCB records (RFC 9460: where the client connects; "." is the owner itself),
        # found when the answer arrived (strict.check_answer)
        for at in ctx.targets:
            try:
                target = name_at(response, at)
            except (WireError, IndexError):
                raise _Unreadable from None
            if not target or target == ctx.q.name:
                continue
            found = self.decisions.decide(profile, target, ctx.now)
            if found.action is Action.BLOCK:
                return Decision(Action.BLOCK, Reason.CNAME_BLOCKED, rule=found.rule,
                                source=found.source, valid_until=found.valid_until,
                                category=found.category, service=found.service,
                                band=found.band,
                                detail={"cname": target, "because": found.reason.value})
        return None
