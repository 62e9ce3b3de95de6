from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield.cli import app
from kidshield.safety.media.hashing import hash_image

from .images import encode, picture

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["media", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(encode(picture(51)))
    (folder / "sub" / "b.jpg").write_bytes(encode(picture(52), "JPEG", quality=70))
    (folder / "sub" / "notes.txt").write_text("not an image")
    return folder


def test_hash_prints_hex_quality_and_path_and_fails_on_non_images(images: Path) -> None:
    code, out, err = run("hash", str(images / "a.png"), str(images / "sub" / "notes.txt"))
    assert code == 1
    expected = hash_image((images / "a.png").read_bytes()).original
    assert out.split() == [expected.hex, str(expected.quality), str(images / "a.png")]
    assert "notes.txt" in err and "not an image" in err


def test_hash_json_with_dihedral_variants(images: Path) -> None:
    code, out, _ = run("hash", "--json", "--dihedral", str(images / "a.png"))
    assert code == 0
    row = json.loads(out)
    assert len(row["variants"]) == 7 and len(row["hash"]) == 64


def test_bank_create_import_list_export_round_trip(tmp_path: Path, images: Path) -> None:
    db = str(tmp_path / "k.db")
    known = hash_image((images / "a.png").read_bytes()).original.hex
    hashes = tmp_path / "list.csv"
    hashes.write_text(f"hash,source,reference_id\n{known},partner,r1\nbroken,x,y\n{known},p,r2\n")
    assert run("bank", "create", "known", "--db", db)[0] == 0
    code, out, err = run("bank", "import", "known", str(hashes), "--db", db)
    assert code == 1  # a row was rejected
    assert "imported 1 hashes" in out and "1 duplicate, 1 rejected" in out
    assert f"{hashes}:3: malformed" in err and f"{hashes}:4: duplicate" in err
    code, out, _ = run("bank", "list", "--json", "--db", db)
    assert [(b["name"], b["hashes"]) for b in json.loads(out)] == [("known", 1)]
    exported = tmp_path / "out.te"
    assert run("bank", "export", "known", "--format", "te", "-o", str(exported), "--db", db)[0] == 0
    assert exported.read_text() == f"pdq,{known},r1\n"


def test_bank_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    code, _, err = run(
        "bank", "import", "nope", str(tmp_path / "x.txt"), "--db", str(tmp_path / "k.db")
    )
    assert code == 2
    assert "error:" in err and "Traceback" not in err


def test_scan_walks_folders_and_writes_one_json_line_per_file(tmp_path: Path, images: Path) -> None:
    db = str(tmp_path / "k.db")
    run("bank", "create", "known", "--db", db)
    known = hash_image((images / "sub" / "b.jpg").read_bytes()).original.hex
    listing = tmp_path / "l.txt"
    listing.write_text(known + "\n")
    run("bank", "import", "known", str(listing), "--db", db)
    out_file = tmp_path / "scan.jsonl"
    code, _, err = run("scan", str(images), "-o", str(out_file), "--db", db)
    assert code == 0
    rows = {Path(r["path"]).name: r for r in map(json.loads, out_file.read_text().splitlines())}
    assert set(rows) == {"a.png", "b.jpg", "notes.txt"}
    assert rows["b.jpg"]["matched"] is True and rows["b.jpg"]["matches"][0]["bank"] == "known"
    assert rows["a.png"]["matched"] is False
    assert "not an image" in rows["notes.txt"]["error"]
    assert "scanned 3 files, 1 matched" in err


def test_lookup_prints_json_and_exits_1_on_a_match(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    run("bank", "create", "known", "--db", db)
    listing = tmp_path / "l.txt"
    listing.write_text("a" * 64 + "\n")
    run("bank", "import", "known", str(listing), "--db", db)
    code, out, _ = run("lookup", "a" * 63 + "b", "--db", db)
    assert code == 1
    assert json.loads(out)["matches"][0]["distance"] == 1
    code, out, _ = run("lookup", "0" * 64, "--db", db)
    assert (code, json.loads(out)["matched"]) == (0, False)
    code, _, err = run("lookup", "xyz", "--db", db)
    assert code == 2 and "not a PDQ hash" in err


def test_import_checks_the_default_source_against_the_rows_limit(tmp_path: Path,
                                                                  images: Path) -> None:
    # rows naming their own source were held to 200 characters; the default that fills the
    # others was stored at any length
    db = str(tmp_path / "k.db")
    known = hash_image((images / "a.png").read_bytes()).original.hex
    hashes = tmp_path / "list.txt"
    hashes.write_text(f"{known}\n")
    assert run("bank", "create", "known", "--db", db)[0] == 0
    code, out, err = run("bank", "import", "known", str(hashes), "--source", "s" * 201,
                         "--db", db)
    assert code == 2, out
    assert "source: at most 200 characters (this one has 201)" in " ".join(err.split())
    code, out, _ = run("bank", "list", "--json", "--db", db)
    assert [b["hashes"] for b in json.loads(out)] == [0]  # nothing imported
    # 200 is the limit, not over it
    code, out, err = run("bank", "import", "known", str(hashes), "--source", "s" * 200,
                         "--db", db)
    assert code == 0, err
    # a file name is only the default when no --source is given: cut to the limit
    long_name = tmp_path / ("n" * 240 + ".txt")
    other = hash_image(encode(picture(53))).original.hex
    long_name.write_text(f"{other}\n")
    code, out, err = run("bank", "import", "known", str(long_name), "--db", db)
    assert code == 0, err
    exported = tmp_path / "out.csv"
    assert run("bank", "export", "known", "--format", "csv", "-o", str(exported),
               "--db", db)[0] == 0
    sources = {line.split(",")[1] for line in exported.read_text().splitlines()[1:]}
    assert sources == {"s" * 200, "n" * 200}


def test_import_checks_by_against_the_added_by_column(tmp_path: Path, images: Path) -> None:
    # --by was stored as added_by at any length, though its column is 128 wide (PostgreSQL
    # refuses a longer value with a database error, not a message naming the option)
    db = str(tmp_path / "k.db")
    known = hash_image((images / "a.png").read_bytes()).original.hex
    hashes = tmp_path / "list.txt"
    hashes.write_text(f"{known}\n")
    assert run("bank", "create", "known", "--db", db)[0] == 0
    code, out, err = run("bank", "import", "known", str(hashes), "--by", "b" * 129, "--db", db)
    assert code == 2, out
    assert "added_by: at most 128 characters (this one has 129)" in " ".join(err.split())
    code, out, _ = run("bank", "list", "--json", "--db", db)
    assert [b["hashes"] for b in json.loads(out)] == [0]  # nothing imported
    # a row naming its own added_by is held to the same limit, the others imported
    rows = tmp_path / "rows.csv"
    other = hash_image(encode(picture(53))).original.hex
    rows.write_text(f"hash,added_by\n{known},{'r' * 129}\n{other},{'r' * 128}\n")
    code, out, err = run("bank", "import", "known", str(rows), "--db", db)
    assert code == 1, out
    assert "rows.csv:2: malformed: added_by: at most 128 characters" in " ".join(err.split())
    # 128 is the limit, not over it
    code, out, err = run("bank", "import", "known", str(hashes), "--by", "b" * 128, "--db", db)
    assert code == 0, err
    exported = tmp_path / "out.csv"
    assert run("bank", "export", "known", "--format", "csv", "-o", str(exported),
               "--db", db)[0] == 0
    added_by = {line.split(",")[4] for line in exported.read_text().splitlines()[1:]}
    assert added_by == {"b" * 128, "r" * 128}
    # the bank's creator is the same column's width
    code, out, err = run("bank", "create", "other", "--by", "c" * 129, "--db", db)
    assert code == 2, out
    assert "created_by: at most 128 characters" in " ".join(err.split())

