from __future__ import annotations

from datetime import timedelta

import pytest

from kidshield.clock import FixedClock
from kidshield.policy.reason import Reason
from kidshield.safety.media.banks import BankError, BankService
from kidshield.safety.media.formats import HashListFormat
from kidshield.safety.media.hashing import hash_image
from kidshield.safety.media.signal import SignalError
from kidshield.storage.media_sql import SqlMediaBankStore

from .images import brightened, cropped, encode, flat, mirrored, picture, resized


def bank_image(service: BankService, bank: str, data: bytes, reference: str = "ref") -> str:
    hex_hash = hash_image(data).original.hex
    report = service.add(bank, [hex_hash], source="test", reference_id=reference, added_by="t")
    assert report.added == 1
    return hex_hash


@pytest.fixture
def known(service: BankService) -> bytes:
    """A bank 'known' holding the hash of picture 11; returns that picture's PNG bytes."""
    service.create_bank("known", created_by="tester")
    data = encode(picture(11))
    bank_image(service, "known", data, "case-11")
    return data


def test_banks_are_created_listed_with_sizes_and_can_be_disabled(service: BankService) -> None:
    service.create_bank("csam-a", threshold=25, description="partner list")
    service.create_bank("false-positives", kind="negative")
    service.add("csam-a", ["a" * 64, "b" * 64])
    listed = {b.bank.name: b for b in service.banks()}
    assert listed["csam-a"].hashes == 2
    assert (listed["csam-a"].bank.threshold, listed["csam-a"].bank.kind) == (25, "match")
    assert listed["false-positives"].bank.kind == "negative"
    assert service.set_enabled("csam-a", False).enabled is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name!"}, "not valid"),
        ({"name": "ok", "kind": "maybe"}, "kind"),
        ({"name": "ok", "threshold": 300}, "threshold"),
    ],
)
def test_bad_bank_settings_are_refused_clearly(
    service: BankService, kwargs: dict[str, object], message: str
) -> None:
    name = str(kwargs.pop("name"))
    with pytest.raises(BankError, match=message):
        service.create_bank(name, **kwargs)  # type: ignore[arg-type]


def test_bank_texts_over_their_limits_are_refused_naming_the_field(
        service: BankService) -> None:
    """The service (so the CLI too) holds the limits, not only the API's models."""
    with pytest.raises(BankError, match="at most 2,000") as refused:
        service.create_bank("long", description="x" * 2001)
    assert refused.value.field == "description"
    service.create_bank("ok", description="x" * 2000)
    for field in ("source", "reference_id"):
        with pytest.raises(BankError, match="at most 200") as refused:
            service.add("ok", ["0" * 64], **{field: "x" * 201})  # type: ignore[arg-type]
        assert refused.value.field == field
    # a list's rows as well (the CLI's import)
    report = service.import_list("ok", [f"{'1' * 64},{'x' * 201},ref", f"{'2' * 64},src,ref"],
                                 HashListFormat.CSV)
    assert report.added == 1 and "source: at most 200" in report.problems[0].message


def test_duplicate_bank_and_unknown_bank_are_refused(service: BankService) -> None:
    service.create_bank("one")
    with pytest.raises(BankError, match="already exists"):
        service.create_bank("one")
    with pytest.raises(BankError, match="no bank named 'two'"):
        service.add("two", ["a" * 64])


@pytest.mark.parametrize(
    "variant",
    [
        lambda img: encode(img, "JPEG", quality=35),
        lambda img: encode(resized(img, 0.6)),
        lambda img: encode(cropped(img, 0.01)),
        lambda img: encode(brightened(img, 1.25)),
    ],
    ids=["recompressed-jpeg", "resized", "cropped", "brighter"],
)
def test_altered_copies_of_a_banked_image_match(
    service: BankService, known: bytes, variant: object
) -> None:
    data = variant(picture(11))  # type: ignore[operator]
    result = service.match_image(data, caller="school-1")
    assert result.matched
    assert result.reason is Reason.HASH_MATCH
    (match,) = result.matches
    assert (match.bank, match.reference_id, match.source) == ("known", "case-11", "test")
    assert match.distance <= 31


def test_mirrored_copy_matches_only_with_the_dihedral_option(
    service: BankService, known: bytes
) -> None:
    data = encode(mirrored(picture(11)))
    assert not service.match_image(data).matched
    result = service.match_image(data, dihedral=True)
    assert result.matched
    assert result.matches[0].variant != "original"


def test_unrelated_images_do_not_match(service: BankService, known: bytes) -> None:
    for seed in (12, 13, 14, 15):
        result = service.match_image(encode(picture(seed)), dihedral=True)
        assert not result.matched
        assert result.matches == result.cancelled == ()


def test_low_quality_images_are_skipped_not_matched(service: BankService) -> None:
    service.create_bank("flat")
    plain = encode(flat())
    bank_image(service, "flat", plain)
    result = service.match_image(plain)
    assert not result.matched
    assert result.skipped is not None and "quality" in result.skipped
    assert service.store.match_records() == []


def test_quality_threshold_is_configurable(store: SqlMediaBankStore, clock: FixedClock) -> None:
    lenient = BankService(store, clock, min_quality=0, index_background=False)
    lenient.create_bank("flat")
    plain = encode(flat())
    bank_image(lenient, "flat", plain)
    assert lenient.match_image(plain).matched


def test_negative_bank_cancels_the_positive_match_and_says_which(
    service: BankService, known: bytes
) -> None:
    service.create_bank("false-positives", kind="negative")
    bank_image(service, "false-positives", known, "fp-1")
    result = service.match_image(encode(picture(11), "JPEG", quality=80), caller="school-1")
    assert not result.matched
    assert result.reason is None
    assert [m.bank for m in result.cancelled] == ["known"]
    assert [m.bank for m in result.negative] == ["false-positives"]
    (record,) = service.store.match_records()
    assert record.cancelled_by == "false-positives"


def test_disabled_negative_bank_no_longer_cancels(service: BankService, known: bytes) -> None:
    service.create_bank("fp", kind="negative")
    bank_image(service, "fp", known)
    service.set_enabled("fp", False)
    assert service.match_image(known).matched


def test_disabled_bank_does_not_match(service: BankService, known: bytes) -> None:
    service.set_enabled("known", False)
    assert not service.match_image(known).matched
    service.set_enabled("known", True)
    assert service.match_image(known).matched


def test_per_bank_threshold_is_applied(service: BankService) -> None:
    service.create_bank("strict", threshold=0)
    service.add("strict", ["0" * 64])
    assert service.lookup("0" * 64).matched
    assert not service.lookup("1" + "0" * 63).matched  # one bit away


def test_each_match_creates_an_auditable_record_with_hash_and_caller(
    service: BankService, known: bytes, clock: FixedClock
) -> None:
    result = service.match_image(known, caller="school-1")
    (record,) = service.store.match_records()
    assert record.at == clock.now()
    assert (record.query_hash, record.matched_hash) == (result.hash, result.matches[0].hash)
    assert (record.distance, record.caller, record.cancelled_by) == (0, "school-1", None)
    assert record.quality == result.quality and record.quality is not None
    assert record.bank_id == service.bank("known").id


def test_unrelated_lookups_leave_no_record(service: BankService, known: bytes) -> None:
    service.match_image(encode(picture(99)))
    assert service.store.match_records() == []


def test_hash_added_through_the_service_is_matchable_immediately(
    service: BankService, known: bytes
) -> None:
    fresh = encode(picture(21))
    assert not service.match_image(fresh).matched
    bank_image(service, "known", fresh)
    assert service.match_image(fresh).matched


def test_hashes_added_by_another_process_are_picked_up_within_the_sync_interval(
    store: SqlMediaBankStore, clock: FixedClock, service: BankService, known: bytes
) -> None:
    service.match_image(known)  # indexes loaded
    other = BankService(store, clock, preload=False)  # e.g. the CLI importing
    fresh = encode(picture(22))
    bank_image(other, "known", fresh)
    assert not service.match_image(fresh).matched  # not yet synced
    clock.advance(timedelta(seconds=3))
    assert service.match_image(fresh).matched


def test_import_reports_duplicates_against_the_bank_by_line(
    service: BankService, known: bytes
) -> None:
    existing = hash_image(known).original.hex
    report = service.import_list(
        "known", ["b" * 64, existing, "junk", "c" * 64], HashListFormat.HEX, source="list.txt"
    )
    assert report.added == 2
    assert [(p.line, p.kind) for p in report.problems] == [(2, "duplicate"), (3, "malformed")]
    exported = "".join(service.export("known", HashListFormat.HEX)).split()
    assert exported == [existing, "b" * 64, "c" * 64]


def test_bank_round_trip_through_csv_keeps_metadata(service: BankService) -> None:
    service.create_bank("a")
    service.create_bank("b")
    service.add("a", ["d" * 64], source="partner", reference_id="x-1", added_by="alice")
    csv_text = "".join(service.export("a", HashListFormat.CSV))
    report = service.import_list("b", csv_text.splitlines(), HashListFormat.CSV)
    assert report.added == 1 and report.problems == []
    (row,) = service.store.hashes(service.bank("b").id or 0)
    assert (row.hash, row.source, row.reference_id, row.added_by) == (
        "d" * 64,
        "partner",
        "x-1",
        "alice",
    )


def test_a_hash_is_read_in_either_case_and_a_bad_one_is_quoted_shortly(
    service: BankService, known: bytes
) -> None:
    upper = hash_image(known).original.hex.upper()  # some tools print PDQ in upper case
    assert service.lookup(f" {upper}\n", caller="t").matched
    report = service.import_list("known", ["D" * 64], HashListFormat.HEX, source="list.txt")
    assert report.added == 1
    assert "d" * 64 in "".join(service.export("known", HashListFormat.HEX)).split()
    with pytest.raises(SignalError) as info:
        service.lookup("x" * 200, caller="t")
    assert str(info.value) == (f"'{'x' * 77}...' is not a PDQ hash: expected 64 hexadecimal "
                               "characters")
