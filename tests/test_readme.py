"""The README's examples run as written, from outside the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_block(marker: str) -> str:
    """The first ```python block after ``<!-- marker ... -->`` in README.md."""
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {re.escape(marker)}\b.*?-->\s*```python\n(.*?)```", text, re.S)
    assert found, f"no python block after the {marker} marker in README.md"
    return found.group(1)


def test_the_api_example_runs(tmp_path):
    code = readme_block("api-example")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the store: this test process's private sample (conftest)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Almgren–Chriss" in done.stdout and "TWAP" in done.stdout
    assert re.search(r"\d{4}-\d\d-\d\d 09:30:00-0[45]:00", done.stdout), done.stdout  # New York local times


def test_the_gymnasium_example_runs(tmp_path):
    code = readme_block("gym-example")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert re.search(r"TWAP on one path: -[\d,]+ \$", done.stdout), done.stdout
