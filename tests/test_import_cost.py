"""Cheap imports (issue 16): the store's modules import neither pandas nor scipy, and the core (models, market model,
strategy registry) not scipy.stats or scipy.signal at import; each is checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NOT_AT_IMPORT = {
    "optexec.store.db": ("pandas", "scipy"),
    "optexec.store.commands": ("pandas", "scipy"),
    "optexec.models": ("scipy.stats", "scipy.signal"),
    "optexec.market": ("scipy.stats", "scipy.signal"),
    "optexec.strategies.registry": ("scipy.stats", "scipy.signal"),
}


def imported_after(module: str) -> set[str]:
    """The modules a fresh interpreter holds after ``import module``."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", sorted(NOT_AT_IMPORT))
def test_import_does_not_pull_in_heavy_libraries(module):
    loaded = imported_after(module)
    assert module in loaded
    heavy = sorted(m for m in loaded for top in NOT_AT_IMPORT[module] if m == top or m.startswith(top + "."))
    assert not heavy, f"import {module} imports {heavy[:5]}"


def test_the_check_sees_a_heavy_import():
    """The check itself can fail: importing the calibration (which needs pandas and scipy) is caught."""
    loaded = imported_after("optexec.calibration.run")
    assert "pandas" in loaded and any(m.startswith("scipy.") for m in loaded)
