"""The escalation package: one case as a structured referral to a hotline or the competent
authority, carrying everything the analyst recorded (docs/reports.md maps each field to INHOPE
ICCAM and NCMEC CyberTipline terms): incident and its times, content assessment, victim age
group, whether staff viewed the material, hosting, notice and takedown, forwarding to another
country's hotline, police notifications, the reporting organisation, reporters, files (hashes
only, never images), IP addresses where lawfully held, and the evidence chain's record count,
head and signed head, so a later copy with fewer records or another head shows it.

JSON and XML; schemas in ``schemas/`` (format ``kidshield-escalation/2``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kidshield.reports.records import CaseView

SCHEMA_DIR = Path(__file__).parent / "schemas"
JSON_SCHEMA = SCHEMA_DIR / "escalation.schema.json"
XML_SCHEMA = SCHEMA_DIR / "escalation.xsd"
FORMAT = "kidshield-escalation/2"
XML_NS = "urn:kidshield:escalation:2"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _reports_part(view: CaseView) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                          list[dict[str, Any]], list[dict[str, Any]]]:
    items: list[dict[str, Any]] = []
    reporters: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for report in view.reports:
        detail = json.loads(report.detail)
        for kind, value in (("url", report.url), ("account", report.account)):
            if value and (kind, value) not in seen:
                seen.add((kind, value))
                items.append({"kind": kind, "value": value,
                              "first_reported_at": report.created_at.isoformat()})
        reporters.append({
            "source": report.source,
            "role": report.reporter_role,
            "reported_at": report.created_at.isoformat(),
            "contact": report.contact,
            "statement": report.description,
            "good_faith": report.good_faith,
        })
        if report.reporter_ip:
            addresses.append({"address": report.reporter_ip, "role": "reporter",
                              "seen_at": report.created_at.isoformat()})
        if detail.get("file_hash"):
            files.append({
                "hash_algorithm": str(detail.get("hash_algorithm", "pdq")),
                "hash": str(detail["file_hash"]),
                "bank": detail.get("bank"),
                "distance": detail.get("distance"),
                "detected_at": report.created_at.isoformat(),
            })
    return items, reporters, files, addresses


def build_package(
    view: CaseView,
    now: datetime,
    *,
    organisation: dict[str, str],
    chain: dict[str, Any],
    assessed: tuple[datetime, str] | None = None,
) -> dict[str, Any]:
    """The package for one case, from the stored case, its reports and the analyst's referral
    assessment. ``chain`` is the evidence chain's state (records, head, signed head)."""
    case = view.case
    ref = view.referral
    assert case.id is not None
    items, reporters, files, addresses = _reports_part(view)
    seen_at = (assessed[0] if assessed else now).isoformat()
    addresses += [{"address": ip, "role": "reported", "seen_at": seen_at}
                  for ip in ref.hosting_ips]
    first = min((r.created_at for r in view.reports), default=case.created_at)
    records = [
        {"id": e.id, "kind": e.kind, "at": e.at.isoformat(), "record_hash": e.record_hash}
        for e in view.evidence
    ]
    return {
        "format": FORMAT,
        # the chain's length makes it unique: two escalations in one second had one id (the
        # first one's record lengthens the chain before the second is built)
        "package_id": f"case-{case.id}-{now.strftime('%Y%m%dT%H%M%SZ')}-{chain.get('records', 0)}",
        "created_at": now.isoformat(),
        "authority": {"name": ref.authority, "reference": ref.authority_reference or None},
        "organisation": {"name": organisation.get("name", ""),
                         "country": organisation.get("country") or None,
                         "contact": organisation.get("contact") or None},
        "incident": {
            "case_id": case.id,
            "type": case.case_type,
            "summary": case.summary,
            "priority": case.priority,
            "imminent_danger": case.imminent_danger,
            "reports": case.reports_count,
            "first_reported_at": first.isoformat(),
            "case_opened_at": case.created_at.isoformat(),
            "incident_at": _iso(ref.incident_at),
            "target_at": _iso(case.target_at),
            "escalated_at": _iso(case.escalated_at),
            "law_enforcement_notified_at": _iso(case.police_notified_at),
        },
        "assessment": {
            "content_assessment": ref.content_assessment,
            "victim_age_group": ref.victim_age_group,
            "victim_gender": ref.victim_gender,
            "industry_classification": ref.industry_classification or None,
            "viewed_by_staff": ref.viewed_by_staff,
            "publicly_available": ref.publicly_available,
            "content_language": ref.content_language or None,
            "notes": ref.notes,
            "assessed_by": assessed[1] if assessed else None,
            "assessed_at": assessed[0].isoformat() if assessed else None,
        },
        "hosting": {"country": ref.hosting_country or None,
                    "provider": ref.hosting_provider or None},
        "notice_and_takedown": {"notice_sent_at": _iso(ref.notice_to_host_at),
                                "content_removed_at": _iso(ref.content_removed_at)},
        "forwarding": {"hotline": ref.forwarded_to or None,
                       "country": ref.forwarded_country or None,
                       "forwarded_at": _iso(ref.forwarded_at)},
        "police_notifications": [
            {"notified_at": p.notified_at.isoformat(), "authority": p.authority,
             "method": p.method, "reference": p.reference or None}
            for p in view.police
        ],
        "outcome": ref.outcome or None,
        "reported_items": items,
        "reporters": reporters,
        "files": files,
        "ip_addresses": addresses,
        "evidence": {
            "records": records,
            "chain": chain,
        },
    }


def to_json(package: dict[str, Any]) -> str:
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


# -- XML ------------------------------------------------------------------------------------------


def _tag(name: str) -> str:
    return f"{{{XML_NS}}}{name}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _add(parent: ET.Element, tag: str, value: Any) -> None:
    if value is None:
        return
    child = ET.SubElement(parent, _tag(tag))
    child.text = str(value).lower() if isinstance(value, bool) else str(value)


def _group(parent: ET.Element, tag: str, data: dict[str, Any], keys: tuple[str, ...]) -> None:
    el = ET.SubElement(parent, _tag(tag))
    for key in keys:
        _add(el, _camel(key), data[key])


def to_xml(package: dict[str, Any]) -> str:
    """The same package as XML, element names in camelCase, valid against escalation.xsd."""
    ET.register_namespace("", XML_NS)
    root = ET.Element(_tag("escalation"), {"format": package["format"]})
    _add(root, "packageId", package["package_id"])
    _add(root, "createdAt", package["created_at"])
    _group(root, "authority", package["authority"], ("name", "reference"))
    _group(root, "organisation", package["organisation"], ("name", "country", "contact"))
    _group(root, "incident", package["incident"], (
        "case_id", "type", "summary", "priority", "imminent_danger", "reports",
        "first_reported_at", "case_opened_at", "incident_at", "target_at", "escalated_at",
        "law_enforcement_notified_at"))
    _group(root, "assessment", package["assessment"], (
        "content_assessment", "victim_age_group", "victim_gender", "industry_classification",
        "viewed_by_staff", "publicly_available", "content_language", "notes", "assessed_by",
        "assessed_at"))
    _group(root, "hosting", package["hosting"], ("country", "provider"))
    _group(root, "noticeAndTakedown", package["notice_and_takedown"],
           ("notice_sent_at", "content_removed_at"))
    _group(root, "forwarding", package["forwarding"], ("hotline", "country", "forwarded_at"))
    group = ET.SubElement(root, _tag("policeNotifications"))
    for p in package["police_notifications"]:
        _group(group, "notification", p, ("notified_at", "authority", "method", "reference"))
    _add(root, "outcome", package["outcome"])
    group = ET.SubElement(root, _tag("reportedItems"))
    for item in package["reported_items"]:
        el = ET.SubElement(group, _tag("item"), {"kind": item["kind"]})
        _add(el, "value", item["value"])
        _add(el, "firstReportedAt", item["first_reported_at"])
    group = ET.SubElement(root, _tag("reporters"))
    for rep in package["reporters"]:
        _group(group, "reporter", rep, ("source", "role", "reported_at", "contact",
                                        "statement", "good_faith"))
    group = ET.SubElement(root, _tag("files"))
    for f in package["files"]:
        _group(group, "file", f, ("hash_algorithm", "hash", "bank", "distance", "detected_at"))
    group = ET.SubElement(root, _tag("ipAddresses"))
    for a in package["ip_addresses"]:
        el = ET.SubElement(group, _tag("ip"), {"role": a["role"]})
        _add(el, "address", a["address"])
        _add(el, "seenAt", a["seen_at"])
    ev = ET.SubElement(root, _tag("evidence"))
    for r in package["evidence"]["records"]:
        el = ET.SubElement(ev, _tag("record"), {"id": str(r["id"])})
        _add(el, "kind", r["kind"])
        _add(el, "at", r["at"])
        _add(el, "recordHash", r["record_hash"])
    state = package["evidence"]["chain"]
    ch = ET.SubElement(ev, _tag("chain"))
    _add(ch, "records", state["records"])
    _add(ch, "head", state["head"])
    signed = state["signed_head"]
    if signed is not None:
        _group(ch, "signedHead", signed, ("format", "records", "head", "at", "key_id",
                                          "signature"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
