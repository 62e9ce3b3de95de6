"""Where browser tests save their screenshots.

Every full test run takes the screenshots (so the pages are rendered and the code path is
exercised), but only `KIDSHIELD_SCREENSHOTS=1 scripts/test` writes them over the tracked
docs/images/: an ordinary run must not leave the checkout modified.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def images_dir() -> Path:
    if os.environ.get("KIDSHIELD_SCREENSHOTS") == "1":
        folder = DOCS_IMAGES
    else:
        folder = Path(tempfile.gettempdir()) / "kidshield-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
