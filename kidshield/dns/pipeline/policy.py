"""The policy stage: the engine's decision for (name, profile, now, the profile's state),
kept until the clock alone could change it. Blocks are answered here; safe search and allowed
names go on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kidshield.dns.pipeline.blocking import BlockAnswers
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.ready import POLICY_READY_MAX, drop_oldest
from kidshield.policy.engine import PolicyEngine
from kidshield.policy.model import Profile, Query
from kidshield.policy.reason import Action, Decision
from kidshield.policy.state import ProfileState

StateFor = Callable[[Profile, datetime], ProfileState]


class Decisions:
    """Decisions per (profile, name); each is reused until its ``valid_until``. A name nothing
    lists shares one decision per profile, which the engine remembers: not kept per name (most
    cache misses; an entry each cost a dict insert and memory)."""

    def __init__(self, engine: PolicyEngine, state_for: StateFor, max_known: int) -> None:
        self.engine = engine
        self.state_for = state_for
        self.max_known = max_known  # bounded like the ready answers (``[dns] cache_mb``)
        self._known: dict[tuple[str, str], Decision] = {}

    def decide(self, profile: Profile, name: str, now: datetime) -> Decision:
        key = (profile.id, name)
        known = self._known.get(key)
        if known is not None and (known.valid_until is None or now < known.valid_until):
            return known
        decision, shared = self.engine.decide_shared(Query(name), profile, now,
                                                     self.state_for(profile, now))
        if shared:
            return decision
        if len(self._known) >= self.max_known:
            drop_oldest(self._known, self.max_known)
        self._known[key] = decision
        return decision

    def __len__(self) -> int:
        return len(self._known)

    def forget(self, profile: str | None = None) -> None:
        if profile is None:
            self._known.clear()
            return
        for key in [k for k in self._known if k[0] == profile]:
            del self._known[key]


class PolicyDecision:
    def __init__(self, decisions: Decisions, block: BlockAnswers) -> None:
        self.decisions = decisions
        self.block = block

    def __call__(self, ctx: QueryContext) -> Flow:
        assert ctx.profile is not None  # the client/profile stage came first
        decision = ctx.decision = self.decisions.decide(ctx.profile, ctx.q.name, ctx.now)
        policy_ttl = POLICY_READY_MAX
        if decision.valid_until is not None:
            policy_ttl = min(policy_ttl, (decision.valid_until - ctx.now).total_seconds())
        ctx.policy_ttl = policy_ttl
        if decision.action is Action.BLOCK:
            response, rcode = self.block.answer(ctx.data, ctx.q, decision)
            return ctx.answered(response, Action.BLOCK, decision.reason, rcode,
                                max(policy_ttl, 0.0), decision)
        return NEXT
