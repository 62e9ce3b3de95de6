"""Every decision's reason in plain words for parents (the query log, its filter, the
overview and the weekly summary), and a row's explanation with what matched: "Blocked: on
a gambling list (casino.example)". The words are translated (the dashboard's catalog);
``Reason`` stays the one vocabulary underneath."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kidshield.policy.reason import Reason
from kidshield.web.errors import N_

WORDS: dict[str, str] = {
    Reason.ALLOWED: N_("nothing in the rules applies"),
    Reason.HELPLINE: N_("a helpline: always open"),
    Reason.GRANT: N_("you allowed it for a while"),
    Reason.ALLOW_LIST: N_("on this child's always-allow list"),
    Reason.PAUSED: N_("protection was paused"),
    Reason.INTERNET_PAUSED: N_("the internet was paused"),
    Reason.ADULT: N_("18 or over: protection has ended"),
    Reason.UNFILTERED: N_("filtering is off for this profile"),
    Reason.BYPASS: N_("a way around the filter (VPN, proxy, other DNS)"),
    Reason.BEDTIME: N_("bedtime"),
    Reason.SCHEDULE: N_("outside the allowed hours (a schedule)"),
    Reason.BUDGET: N_("today's time for this app was used up"),
    Reason.SERVICE: N_("an app or service you blocked"),
    Reason.CATEGORY: N_("on a list of blocked sites"),
    Reason.DENY_LIST: N_("on this child's always-block list"),
    Reason.SAFE_SEARCH_UNSUPPORTED: N_("a search engine without a safe mode"),
    Reason.SAFE_SEARCH: N_("sent to the safe version of the search"),
    Reason.REFUSED_ACL: N_("a device from outside your network"),
    Reason.RATE_LIMITED: N_("too many look-ups at once"),
    Reason.CANARY: N_("a browser checking for filtering"),
    Reason.DDR: N_("a device looking for encrypted DNS"),
    Reason.CNAME_BLOCKED: N_("leads to a blocked site"),
    Reason.MALFORMED: N_("a broken request"),
    Reason.UPSTREAM_REFUSED: N_("the internet's DNS server refused to answer"),
    Reason.UPSTREAM_SERVFAIL: N_("the internet's DNS server could not answer"),
    Reason.UPSTREAM_NO_ANSWER: N_("no answer from the internet's DNS server"),
    Reason.UPSTREAM_MALFORMED: N_("an unreadable answer from the internet's DNS server"),
}

# decisions a row action cannot change: helplines stay open, the resolver's own answers
FIXED_REASONS = frozenset({Reason.HELPLINE, Reason.ADULT, Reason.UNFILTERED, Reason.CANARY,
                           Reason.DDR, Reason.REFUSED_ACL, Reason.RATE_LIMITED,
                           Reason.MALFORMED})

# the age bands' labels (policy.ages.AgeBand.label), translated where a parent reads them
BAND_LABELS = (N_("under 9"), N_("9–12"), N_("13–15"), N_("16–17"), N_("18 and over"))

CATEGORY_NAMES: dict[str, str] = {
    "adult": N_("adult content"), "gambling": N_("gambling"), "dating": N_("dating"),
    "drugs": N_("drugs"), "violence": N_("violence"), "weapons": N_("weapons"),
    "hate": N_("hate"), "self_harm": N_("self-harm"), "cults": N_("cults"),
    "chat": N_("chat sites"), "social": N_("social networks"), "piracy": N_("piracy"),
    "malware": N_("malware"), "phishing": N_("phishing"), "reported": N_("reported sites"),
    "bypass": N_("ways around the filter"), "gaming": N_("games"),
}

CATEGORY_HINTS: dict[str, str] = {
    "adult": N_("pornography and sexual content"),
    "gambling": N_("betting, casinos and lotteries"),
    "dating": N_("dating and hook-up sites and apps"),
    "drugs": N_("buying and promoting drugs"),
    "violence": N_("gore and graphic violence"),
    "weapons": N_("buying weapons"),
    "hate": N_("hate groups and extremist sites"),
    "self_harm": N_("sites that encourage self-harm, suicide or eating disorders"),
    "cults": N_("sects and cults"),
    "chat": N_("chat rooms with strangers"),
    "social": N_("social networks"),
    "piracy": N_("pirated films, music and games"),
    "malware": N_("sites that spread viruses"),
    "phishing": N_("sites that steal passwords"),
    "reported": N_("sites a moderator blocked after a report"),
}


def reason_words(t: Callable[..., str]) -> dict[str, str]:
    """reason id -> plain words in the page's language."""
    return {key: t(text) for key, text in WORDS.items()}


def category_name(t: Callable[..., str], category: str | None) -> str:
    if not category:
        return ""
    return t(CATEGORY_NAMES[category]) if category in CATEGORY_NAMES \
        else category.replace("_", " ")


def explain(t: Callable[..., str], row: Mapping[str, Any],
            service_names: Mapping[str, str]) -> str:
    """One log row in words: why it was blocked or allowed, and what matched."""
    reason = str(row.get("reason", ""))
    words = t(WORDS[reason]) if reason in WORDS else reason
    category, service = row.get("category"), row.get("service")
    if reason == Reason.CATEGORY and category:
        words = t("on a list of {category} sites", category=category_name(t, category))
    elif reason in (Reason.SERVICE, Reason.BUDGET) and service:
        name = service_names.get(str(service), str(service))
        words = (t("{service} is blocked for this child", service=name)
                 if reason == Reason.SERVICE else
                 t("today's time for {service} was used up", service=name))
    return words
