"""What a child reads on the block page: one short, kind text per Reason and age band (COP-1).

The English texts are the msgids of the translation catalogs; ``{name}``, ``{service}`` and
``{category}`` are filled in after translation. Blocks for self-harm topics get their own text
and show the helplines first (COP-8).
"""

from __future__ import annotations

from dataclasses import dataclass

from kidshield.errors import Malformed
from kidshield.policy.ages import AgeBand
from kidshield.policy.helplines import SELF_HARM_CATEGORIES
from kidshield.policy.reason import Decision, Reason
from kidshield.web.errors import N_
from kidshield.web.i18n import Translator

BANDS = (AgeBand.UNDER_9, AgeBand.AGE_9_12, AgeBand.AGE_13_15, AgeBand.AGE_16_17)

# the ask forms' answer to a message past the forms' size (blockpage.child_errors)
QUESTION_TOO_LONG = N_("Your question was too long, so it was not sent. Please write a shorter "
                       "message and ask again.")

# what the child's forms answer when the door refuses a request (blockpage.child_errors): they
# were the dashboard's adult error page, in English (session 16b)
NUL_IN_TEXT = N_("What you wrote had a character we can't read, so it was not sent. Please try "
                 "again without it.")
FORM_TOO_LONG = N_("That was too long, so it was not sent. Please go back and try again.")
FORM_EXPIRED = N_("This page was open for too long. Please go back, reload the page and try "
                  "again.")
NOT_A_PAGE = N_("There is nothing to see here. Your protection page is one tap away.")
NOT_SENT = N_("That could not be sent. Please go back and try again.")


def door_text(status: int, exc: Exception, too_large: str = FORM_TOO_LONG) -> str:
    """What a child reads (the msgid) when the door refused their form with ``status``."""
    if status == 400 and isinstance(exc, Malformed):
        return NUL_IN_TEXT
    return {403: FORM_EXPIRED, 405: NOT_A_PAGE, 413: too_large}.get(status, NOT_SENT)

# A msgid marker: the extraction script finds N_("...") as well as _("...").


TITLES: dict[str, str] = {
    "bedtime": N_("Sleep time"),
    "internet_paused": N_("Internet break"),
    "schedule": N_("Not right now"),
    "budget": N_("Time's up for today"),
    "service": N_("Not switched on for you"),
    "category": N_("Blocked to keep you safe"),
    "deny_list": N_("Blocked by your family"),
    "bypass": N_("This gets around the protections"),
    "safe_search_unsupported": N_("A search site without safe mode"),
    "self_harm": N_("You matter"),
    "other": N_("This page is blocked"),
}

# (reason key) -> texts for under-9, 9-12, 13-15, 16-17
BODIES: dict[str, tuple[str, str, str, str]] = {
    "internet_paused": (
        N_("A grown-up paused the internet for a little while. It comes back soon."),
        N_("The internet is paused for a while, so {name} is closed for now. It comes back "
           "soon. Helplines still work."),
        N_("Your parent paused the internet for now, so {name} is closed until the pause "
           "ends. Helplines and your school sites still work."),
        N_("The internet is paused on your devices for now. Helplines and your learning sites "
           "still work; you can ask for an exception below."),
    ),
    "bedtime": (
        N_("It's sleep time. The internet is resting too. See you in the morning!"),
        N_("It's bedtime, so {name} is closed until morning. Sleep helps you grow and feel "
           "good."),
        N_("Bedtime is on, so {name} is paused until the morning. If you need it for school, "
           "ask below."),
        N_("{name} is blocked during your bedtime hours. You can ask for an exception."),
    ),
    "schedule": (
        N_("This is not the time for {name}. You can use it a bit later."),
        N_("{name} is not available at this time of day. It opens again later."),
        N_("{name} is outside your allowed hours right now."),
        N_("{name} is blocked by a time schedule on this network."),
    ),
    "budget": (
        N_("You have used all your {service} time for today. Well done for stopping! More "
           "tomorrow."),
        N_("Your time for {service} is used up for today. It comes back tomorrow."),
        N_("You have reached today's time limit for {service}. It resets at midnight."),
        N_("Today's time limit for {service} is reached. It resets at midnight."),
    ),
    "service": (
        N_("{service} is made for older people, so it is not on here."),
        N_("{service} is not switched on for you. Many apps are made for older children, and a "
           "grown-up chose to wait."),
        N_("{service} is blocked on your profile. If you think you should have it, talk to your "
           "parent or ask below."),
        N_("{service} is blocked on this network. Ask if you need it."),
    ),
    "category": (
        N_("This page is not for children. Let's find something fun instead!"),
        N_("This site is in a group ({category}) that is blocked to keep you safe."),
        N_("This site is blocked because it is listed as {category}."),
        N_("This site is blocked: it is listed as {category}."),
    ),
    "deny_list": (
        N_("A grown-up at home has closed this page."),
        N_("Your parent has put this site on the blocked list."),
        N_("This site is on your family's blocked list."),
        N_("This site is on your household's block list."),
    ),
    "bypass": (
        N_("This is a tool to get around the safety settings, so it is not on."),
        N_("This site could get around the protections at home, so it is blocked."),
        N_("VPNs, proxies and private DNS get around the home protections, so they are "
           "blocked here."),
        N_("Tools that bypass the network's protections (VPNs, proxies, encrypted DNS) are "
           "blocked here."),
    ),
    "safe_search_unsupported": (
        N_("This search site is not safe for children. Try a different one!"),
        N_("This search site cannot be set to safe mode, so it is blocked. Try another one."),
        N_("This search engine has no safe mode we can switch on, so it is blocked."),
        N_("This search engine cannot be set to safe search, so it is blocked."),
    ),
    "self_harm": (
        N_("This page is not safe for you. If you feel sad or scared, tell a grown-up you "
           "trust. You can also call a helpline below."),
        N_("This page is blocked. If things feel hard, you are not alone: the people below "
           "can help, any time."),
        N_("This page is blocked. If you are struggling or thinking about hurting yourself, "
           "please reach out: the helplines below are free and confidential."),
        N_("This page is blocked. If you are going through a hard time, talking helps: the "
           "helplines below are free and confidential."),
    ),
    "other": (
        N_("This page is blocked on this network."),
        N_("This page is blocked on this network."),
        N_("This page is blocked on this network."),
        N_("This page is blocked on this network."),
    ),
}


@dataclass(frozen=True, slots=True)
class BlockText:
    key: str
    title: str
    body: str
    self_harm: bool


def reason_key(decision: Decision) -> str:
    reason = decision.reason
    if reason is Reason.CNAME_BLOCKED:
        because = str(decision.detail.get("because", ""))
        reason = Reason(because) if because in Reason._value2member_map_ else reason
    if decision.category in SELF_HARM_CATEGORIES:
        return "self_harm"
    key = reason.value
    return key if key in BODIES else "other"


def band_index(band: str | None) -> int:
    for i, b in enumerate(BANDS):
        if b.value == band:
            return i
    return 3  # adults and unknown: the oldest band's words


def block_text(decision: Decision, name: str, service_name: str | None,
               t: Translator) -> BlockText:
    key = reason_key(decision)
    body = BODIES[key][band_index(decision.band)]
    values = {"name": name, "service": service_name or decision.service or name,
              "category": t(decision.category.replace("_", " ")) if decision.category
              else t("harmful content")}
    return BlockText(key, t(TITLES[key]), t(body).format(**values), key == "self_harm")


CATEGORY_WORDS = (N_("adult"), N_("gambling"), N_("malware"), N_("phishing"),
                  N_("self harm"), N_("dating"), N_("drugs"), N_("violence"), N_("weapons"),
                  N_("hate"), N_("cults"), N_("chat"), N_("social"), N_("piracy"),
                  N_("reported"), N_("harmful content"))

# Words the templates translate from data values (query log results, week grid, modes, reasons).
DYNAMIC_WORDS = (N_("allow"), N_("block"), N_("rewrite"), N_("bedtime"), N_("schedule"),
                 N_("strict"), N_("moderate"), N_("off"), N_("category"), N_("service"),
                 N_("budget"), N_("deny_list"), N_("bypass"), N_("safe_search_unsupported"),
                 N_("cname_blocked"), N_("self_harm"))
