"""The escalation package: one case as a structured referral to a hotline or the competent
authority, modelled on national tipline data models (incident summary and type, the reported
URL or account, reporter details if given, file details with hashes, timestamps, and IP
addresses where they are lawfully held). JSON and XML; schemas in ``schemas/``.

Never contains images: files are described by their hashes only.
"""

from __future__ import annotations

import ipaddress
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kidshield.reports.service import CaseView

SCHEMA_DIR = Path(__file__).parent / "schemas"
JSON_SCHEMA = SCHEMA_DIR / "escalation.schema.json"
XML_SCHEMA = SCHEMA_DIR / "escalation.xsd"
FORMAT = "kidshield-escalation/1"
XML_NS = "urn:kidshield:escalation:1"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def build_package(
    view: CaseView,
    now: datetime,
    *,
    authority: str = "",
    organisation: str = "",
    hosting_ips: Sequence[str] = (),
) -> dict[str, Any]:
    """The package for one case. ``hosting_ips`` are the addresses the reported site resolved
    to when the analyst checked (hosting location); reporter IPs appear only when kept."""
    case = view.case
    assert case.id is not None
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
    for address in hosting_ips:
        addresses.append({"address": str(ipaddress.ip_address(address.strip())),
                          "role": "reported", "seen_at": now.isoformat()})
    first = min((r.created_at for r in view.reports), default=case.created_at)
    records = [
        {"id": e.id, "kind": e.kind, "at": e.at.isoformat(), "record_hash": e.record_hash}
        for e in view.evidence
    ]
    return {
        "format": FORMAT,
        "package_id": f"case-{case.id}-{now.strftime('%Y%m%dT%H%M%SZ')}",
        "created_at": now.isoformat(),
        "authority": authority,
        "organisation": organisation,
        "incident": {
            "case_id": case.id,
            "type": case.case_type,
            "summary": case.summary,
            "priority": case.priority,
            "imminent_danger": case.imminent_danger,
            "reports": case.reports_count,
            "first_reported_at": first.isoformat(),
            "case_opened_at": case.created_at.isoformat(),
        },
        "reported_items": items,
        "reporters": reporters,
        "files": files,
        "ip_addresses": addresses,
        "evidence": {
            "records": records,
            "chain_head": records[-1]["record_hash"] if records else None,
        },
    }


def to_json(package: dict[str, Any]) -> str:
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def _add(parent: ET.Element, tag: str, value: Any) -> None:
    if value is None:
        return
    child = ET.SubElement(parent, f"{{{XML_NS}}}{tag}")
    child.text = str(value).lower() if isinstance(value, bool) else str(value)


def to_xml(package: dict[str, Any]) -> str:
    """The same package as XML, element names in camelCase, valid against escalation.xsd."""
    ET.register_namespace("", XML_NS)
    root = ET.Element(f"{{{XML_NS}}}escalation", {"format": package["format"]})
    for key, tag in (("package_id", "packageId"), ("created_at", "createdAt"),
                     ("authority", "authority"), ("organisation", "organisation")):
        _add(root, tag, package[key])
    inc = package["incident"]
    incident = ET.SubElement(root, f"{{{XML_NS}}}incident")
    for key, tag in (("case_id", "caseId"), ("type", "type"), ("summary", "summary"),
                     ("priority", "priority"), ("imminent_danger", "imminentDanger"),
                     ("reports", "reports"), ("first_reported_at", "firstReportedAt"),
                     ("case_opened_at", "caseOpenedAt")):
        _add(incident, tag, inc[key])
    group = ET.SubElement(root, f"{{{XML_NS}}}reportedItems")
    for item in package["reported_items"]:
        el = ET.SubElement(group, f"{{{XML_NS}}}item", {"kind": item["kind"]})
        _add(el, "value", item["value"])
        _add(el, "firstReportedAt", item["first_reported_at"])
    group = ET.SubElement(root, f"{{{XML_NS}}}reporters")
    for rep in package["reporters"]:
        el = ET.SubElement(group, f"{{{XML_NS}}}reporter")
        for key, tag in (("source", "source"), ("role", "role"), ("reported_at", "reportedAt"),
                         ("contact", "contact"), ("statement", "statement")):
            _add(el, tag, rep[key])
    group = ET.SubElement(root, f"{{{XML_NS}}}files")
    for f in package["files"]:
        el = ET.SubElement(group, f"{{{XML_NS}}}file")
        for key, tag in (("hash_algorithm", "hashAlgorithm"), ("hash", "hash"),
                         ("bank", "bank"), ("distance", "distance"),
                         ("detected_at", "detectedAt")):
            _add(el, tag, f[key])
    group = ET.SubElement(root, f"{{{XML_NS}}}ipAddresses")
    for a in package["ip_addresses"]:
        el = ET.SubElement(group, f"{{{XML_NS}}}ip", {"role": a["role"]})
        _add(el, "address", a["address"])
        _add(el, "seenAt", a["seen_at"])
    ev = ET.SubElement(root, f"{{{XML_NS}}}evidence")
    for r in package["evidence"]["records"]:
        el = ET.SubElement(ev, f"{{{XML_NS}}}record", {"id": str(r["id"])})
        _add(el, "kind", r["kind"])
        _add(el, "at", r["at"])
        _add(el, "recordHash", r["record_hash"])
    _add(ev, "chainHead", package["evidence"]["chain_head"])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
