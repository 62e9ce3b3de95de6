"""The answer check: the policy applies to every name an upstream answer's CNAME chain leads
to, and to the TargetName of HTTPS/SVCB records, so an allowed name cannot alias a blocked
one. The names are read when the answer arrives (``strict.AnswerShape.targets``): one whose
names cannot be read is never an answer (the upstream's is ``upstream_malformed``), so
nothing is left here to fail."""

from __future__ import annotations

from kidshield.dns import answers
from kidshield.dns.pipeline.blocking import BlockAnswers
from kidshield.dns.pipeline.context import Flow, QueryContext
from kidshield.dns.pipeline.policy import Decisions
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Decision, Reason


class AnswerCheck:
    def __init__(self, decisions: Decisions, block: BlockAnswers) -> None:
        self.decisions = decisions
        self.block = block

    def __call__(self, ctx: QueryContext) -> Flow:
        response, decision, profile = ctx.response, ctx.decision, ctx.profile
        assert response is not None and decision is not None and profile is not None
        blocked = self._chain_blocked(decision, ctx)
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

    def _chain_blocked(self, decision: Decision, ctx: QueryContext) -> Decision | None:
        # a helpline is reachable whatever its CNAME chain leads to (CDN names may be blocked
        # at bedtime or by a list): helplines beat any block
        if decision.reason is Reason.HELPLINE or not ctx.targets:
            return None
        profile: Profile | None = ctx.profile
        assert profile is not None
        # the names the answer section's CNAME records lead to, and the TargetNames of its
        # HTTPS/SVCB records (RFC 9460: where the client connects; "." is the owner itself),
        # read when the answer arrived (strict.check_answer)
        for target in ctx.targets:
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
