"""One vocabulary for every decision: the DNS answer, the query log, metrics and the block page
all speak in these terms, so a parent sees the same word everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
    REWRITE = "rewrite"  # answer with a CNAME to a safe host (safe search)


class Reason(StrEnum):
    # the name may be reached
    ALLOWED = "allowed"  # nothing in the policy applies
    HELPLINE = "helpline"  # child helplines are always reachable
    GRANT = "grant"  # a parent granted access for a while
    ALLOW_LIST = "allow_list"  # on the profile's allow list
    PAUSED = "paused"  # a parent paused protection
    ADULT = "adult"  # the person is 18 or over: oversight has ended
    UNFILTERED = "unfiltered"  # the profile has filtering switched off
    # the name is blocked
    BYPASS = "bypass"  # encrypted DNS resolvers, VPNs, proxies, iCloud Private Relay
    INTERNET_PAUSED = "internet_paused"  # a parent paused the internet: all but helplines
    # and the profile's learning sites is blocked for a while
    BEDTIME = "bedtime"  # the profile's bedtime
    SCHEDULE = "schedule"  # another time window of the profile
    BUDGET = "budget"  # the daily time budget for a service is used up
    SERVICE = "service"  # a blocked service (TikTok, Discord, ...)
    CATEGORY = "category"  # a blocked category from a list (adult, gambling, ...)
    DENY_LIST = "deny_list"  # the profile's own block list
    SAFE_SEARCH_UNSUPPORTED = "safe_search_unsupported"  # a search engine that can't be forced safe
    # the name is rewritten
    SAFE_SEARCH = "safe_search"
    # DNS-level outcomes (not from the policy engine, but logged and counted the same way)
    REFUSED_ACL = "refused_acl"
    RATE_LIMITED = "rate_limited"
    CANARY = "canary"  # use-application-dns.net: keep browsers' own DoH off
    DDR = "ddr"  # _dns.resolver.arpa: keep devices from upgrading past us
    CNAME_BLOCKED = "cname_blocked"  # a name in the answer's CNAME chain is blocked
    # allowed, but the upstreams gave no answer: every one refused (REFUSED), one could not
    # (its SERVFAIL passed on), none answered at all (timeouts, network errors), or what came
    # could not be read (our SERVFAIL for the last two)
    UPSTREAM_REFUSED = "upstream_refused"
    UPSTREAM_SERVFAIL = "upstream_servfail"
    UPSTREAM_NO_ANSWER = "upstream_no_answer"
    UPSTREAM_MALFORMED = "upstream_malformed"
    MALFORMED = "malformed"
    # safety engine outcomes (text and images)
    GROOMING = "grooming"
    PERSONAL_INFO = "personal_info"
    SEXUAL_CONTENT = "sexual_content"
    SEXTORTION = "sextortion"
    BULLYING = "bullying"
    SELF_HARM = "self_harm"
    HASH_MATCH = "hash_match"  # an image matched a hash bank


@dataclass(frozen=True, slots=True)
class RuleSource:
    """Where a rule came from: a list (and the line in its file), the config, or shipped data."""

    list_name: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return self.list_name
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{self.list_name} ({where})"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: Reason
    rule: str | None = None  # what matched: a domain, "bedtime 21:00-07:00", "service tiktok"
    source: RuleSource | None = None
    valid_until: datetime | None = None  # next moment the clock alone could change this decision
    target: str | None = None  # safe host for REWRITE
    category: str | None = None
    service: str | None = None
    band: str | None = None  # the age band the decision was made for
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "reason": self.reason.value,
            "rule": self.rule,
            "source": None
            if self.source is None
            else {
                "list": self.source.list_name,
                "file": self.source.file,
                "line": self.source.line,
            },
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
            "target": self.target,
            "category": self.category,
            "service": self.service,
            "band": self.band,
            **({"detail": self.detail} if self.detail else {}),
        }
