from __future__ import annotations

from pathlib import Path

from kidshield.lists.formats import Chunk, ParseReport, parse_file


class Collected:
    """A sink that keeps what the parser hands on."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def __call__(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)

    @property
    def blocked(self) -> list[tuple[str, int]]:
        return [pair for c in self.chunks for pair in zip(c.domains, c.lines, strict=True)]

    @property
    def allowed(self) -> list[tuple[str, int]]:
        return [pair for c in self.chunks for pair in c.allow]

    def by_category(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for c in self.chunks:
            out.setdefault(c.category, []).extend(c.domains)
        return out


def parse_text(tmp_path: Path, text: str, fmt: str = "auto", *,
               allow: bool = False) -> tuple[ParseReport, Collected]:
    path = tmp_path / "list.txt"
    path.write_text(text, encoding="utf-8")
    sink = Collected()
    return parse_file(path, fmt, sink, allow=allow), sink
