"""The GUI tests on a Python without tkinter (Debian ships it apart, as ``python3-tk``):
each skipped with the reason on a developer's machine, each a loud failure where a display is
required (CI), never a collection error.

pytest runs in a child process whose ``tkinter`` is shadowed by a package that fails to
import, as on a machine without ``python3-tk``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUI_TESTS = "tests/integration/gui"
MISSING = "raise ModuleNotFoundError(\"No module named 'tkinter'\", name='tkinter')\n"


def run_gui_tests(tmp_path: Path, *, require_display: bool) -> subprocess.CompletedProcess[str]:
    shadow = tmp_path / "no_tk"
    (shadow / "tkinter").mkdir(parents=True)
    (shadow / "tkinter" / "__init__.py").write_text(MISSING)
    env = {k: v for k, v in os.environ.items() if k != "LOCALCHAT_REQUIRE_DISPLAY"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), env.get("PYTHONPATH")]))
    if require_display:
        env["LOCALCHAT_REQUIRE_DISPLAY"] = "1"
    command = [sys.executable, "-m", "pytest", GUI_TESTS, "-q", "-rs"]
    unneeded = ("cacheprovider", "xvfb", "hypothesispytest")  # quicker start-up
    return subprocess.run(
        [*command, *(f"-pno:{plugin}" for plugin in unneeded)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_tkinter_the_gui_tests_skip_with_the_reason(tmp_path: Path) -> None:
    result = run_gui_tests(tmp_path, require_display=False)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.OK, output
    assert re.search(r"^\d+ skipped in ", output, re.MULTILINE), output
    assert "this Python has no tkinter" in output
    assert "apt-get install python3-tk" in output


def test_without_tkinter_a_required_display_fails_loudly(tmp_path: Path) -> None:
    result = run_gui_tests(tmp_path, require_display=True)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "the GUI tests must run here, but this Python has no tkinter" in output
    assert "skipped" not in output
    assert "passed" not in output
