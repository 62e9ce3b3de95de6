"""Names we answer ourselves before any policy: drill canaries (does this device use us?), the
canary that keeps browsers' own DoH off, DDR discovery that would let a device upgrade past us,
and the child page's address."""

from __future__ import annotations

from dns.rcode import Rcode

from kidshield.dns import answers, drillcanary
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.ready import POLICY_READY_MAX
from kidshield.dns.wire import QTYPE_A, QTYPE_AAAA
from kidshield.policy.reason import Action, Decision, Reason

# Firefox reads NXDOMAIN here as "this network filters: keep DNS over HTTPS off"
CANARY_NAME = "use-application-dns.net"
# RFC 9462: answered with no data, so devices find no encrypted resolver to upgrade to
DDR_NAME = "_dns.resolver.arpa"
# The child page's fixed address (RFC 8375 home network domain): answered with the block-page
# address, i.e. the kidshield machine, whose web server shows "My protection" there.
CHILD_PAGE_NAME = "kidshield.home.arpa"

_CHILD_PAGE = Decision(Action.ALLOW, Reason.ALLOWED, rule="child page")
_NAMES = frozenset({CANARY_NAME, DDR_NAME, CHILD_PAGE_NAME})
_DDR_SUFFIX = "." + DDR_NAME


class DrillCanaries:
    """``kidshield drill``'s unique names: answered (and remembered) with the profile they were
    matched to; never logged, never cached (TTL 0), never a ready answer."""

    def __init__(self, canaries: drillcanary.CanaryLog) -> None:
        self.canaries = canaries

    def __call__(self, ctx: QueryContext) -> Flow:
        q = ctx.q
        if not drillcanary.is_drill_name(q.name):
            return NEXT
        assert ctx.profile is not None  # the client/profile stage comes first
        found = self.canaries.answer(q.name, ctx.client, ctx.profile.id)
        if found is None:
            return ctx.reply(answers.build(ctx.data, q, Rcode.NXDOMAIN, authoritative=True))
        kind, values = found
        records: list[bytes] = []
        if kind == "A" and q.qtype == QTYPE_A:
            rdata = answers.address_rdata(QTYPE_A, values[0])
            records = [answers.rr_at_question(QTYPE_A, 0, rdata)] if rdata else []
        elif kind == "TXT" and q.qtype == drillcanary.QTYPE_TXT:
            rdata = b"".join(bytes([len(v)]) + v.encode()[:255] for v in values)
            records = [answers.rr_at_question(drillcanary.QTYPE_TXT, 0, rdata)]
        return ctx.reply(answers.build(ctx.data, q, Rcode.NOERROR, records, authoritative=True))


class SpecialNames:
    def __init__(self, block_v4: str, block_v6: str) -> None:
        self.addresses = {QTYPE_A: block_v4, QTYPE_AAAA: block_v6}

    @staticmethod
    def handles(name: str) -> bool:
        """Is ``name`` one this stage answers (the direct path asks before skipping it)?"""
        return name in _NAMES or name.endswith(_DDR_SUFFIX)

    def __call__(self, ctx: QueryContext) -> Flow:
        name = ctx.q.name
        if not self.handles(name):
            return NEXT
        if name == CANARY_NAME:
            return ctx.answered(answers.build(ctx.data, ctx.q, Rcode.NXDOMAIN), Action.BLOCK,
                                Reason.CANARY, Rcode.NXDOMAIN, POLICY_READY_MAX)
        if name != CHILD_PAGE_NAME:  # DDR, or a name under it
            return ctx.answered(answers.build(ctx.data, ctx.q, Rcode.NOERROR, authoritative=True),
                                Action.BLOCK, Reason.DDR, Rcode.NOERROR, POLICY_READY_MAX)
        return self._child_page(ctx)

    def _child_page(self, ctx: QueryContext) -> Flow:
        records: list[bytes] = []
        address = self.addresses.get(ctx.q.qtype)
        if address and address not in ("0.0.0.0", "::"):
            rdata = answers.address_rdata(ctx.q.qtype, address)
            if rdata is not None:
                records.append(answers.rr_at_question(ctx.q.qtype, 60, rdata))
        response = answers.build(ctx.data, ctx.q, Rcode.NOERROR, records, authoritative=True)
        return ctx.answered(response, Action.ALLOW, Reason.ALLOWED, Rcode.NOERROR,
                            POLICY_READY_MAX, _CHILD_PAGE)
