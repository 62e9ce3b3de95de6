"""The analyst's referral assessment of a case: what a hotline or the police need beyond the
reports themselves, in our own names mapped to INHOPE ICCAM and NCMEC CyberTipline terms in
docs/reports.md. Stored per case, edited as the work goes on, and carried whole into every
escalation package and export."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# ICCAM classification of the reported content.
ContentAssessment = Literal["not_assessed", "baseline", "nationally_illegal", "not_illegal"]
# ICCAM victim age groups ("adult" for content that turned out to show adults).
AgeGroup = Literal["unknown", "infant_toddler", "pre_pubescent", "pubescent", "adult"]
Gender = Literal["unknown", "female", "male", "both"]
# CyberTipline industry classification: A = prepubescent, B = pubescent; 1 = sex act,
# 2 = lascivious exhibition.
IndustryClass = Literal["", "A1", "A2", "B1", "B2"]


def _country(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError(f"{value!r} is not a two-letter country code like 'NL'")
    return value.upper()


# the assessment's times: when things happened, never in the future (ReportService.set_referral)
TIMES = ("incident_at", "notice_to_host_at", "content_removed_at", "forwarded_at")


class Referral(BaseModel):
    """Every field is optional while the analyst works; exports show what is known."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    incident_at: datetime | None = None  # when it happened, as far as known
    content_assessment: ContentAssessment = "not_assessed"
    victim_age_group: AgeGroup = "unknown"
    victim_gender: Gender = "unknown"
    industry_classification: IndustryClass = ""
    viewed_by_staff: bool = False  # someone here saw the material itself
    publicly_available: bool | None = None
    hosting_ips: list[str] = Field(default_factory=list, max_length=64)
    hosting_country: str = Field("", max_length=2)
    hosting_provider: str = Field("", max_length=256)
    notice_to_host_at: datetime | None = None  # notice and takedown: notice sent
    content_removed_at: datetime | None = None  # ... content confirmed gone
    forwarded_to: str = Field("", max_length=256)  # another country's hotline
    forwarded_country: str = Field("", max_length=2)
    forwarded_at: datetime | None = None
    authority: str = Field("", max_length=256)
    authority_reference: str = Field("", max_length=256)
    content_language: str = Field("", max_length=2)
    notes: str = Field("", max_length=10_000)  # the analyst's assessment in words
    outcome: str = Field("", max_length=2000)  # what the authority did, once known

    @field_validator("hosting_ips")
    @classmethod
    def _ips(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_address(item.strip())))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address") from None
        return out

    @field_validator("hosting_country", "forwarded_country")
    @classmethod
    def _countries(cls, value: str) -> str:
        return _country(value)

    @field_validator(*TIMES, mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        # pydantic reads a number as seconds since 1970: 5 became 1970-01-01T00:00:05 in a
        # package for the police
        if isinstance(value, int | float):
            raise ValueError("give the time as text, like 2026-05-01T14:30:00Z")
        return value

    @field_validator(*TIMES)
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its UTC offset, like 2026-05-01T14:30:00Z")
        return value

    def merged(self, changes: dict[str, Any]) -> Referral:
        """A copy with ``changes`` applied and validated (unknown fields refused)."""
        return Referral.model_validate({**self.model_dump(), **changes})

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
