"""``make screenshot``: the script renders the real window on its own Xvfb and writes a PNG
(here into a temporary path, so docs/screenshot.png is left alone)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.helpers import display_unavailable

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "screenshot.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW = (1100, 660)
"""The window size the script asks for (``SIZE`` there); with no window manager on its
Xvfb, Tk gets exactly that."""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (the IHDR chunk comes first)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_screenshot_script_writes_a_picture_of_the_window(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        display_unavailable("Xvfb is not installed (apt-get install xvfb)")
    output = tmp_path / "pictures" / "window.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(output)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {output}"
    assert "Traceback" not in result.stderr
    data = output.read_bytes()
    assert png_size(data) == WINDOW
    with Image.open(output) as picture:
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 16)
    # A drawn window with text has many shades (anti-aliased glyphs); a blank or failed
    # grab has one or two.
    assert colours is None or len(colours) > 50
