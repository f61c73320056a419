"""The package as a user installs it: a wheel built from the sources, installed into a fresh virtual environment
(no network: its dependencies come from this machine's site-packages), used from outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.test_readme import readme_block

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv with the optexec wheel installed (--no-deps); its bin folder."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"  # build from a copy: the build leaves build/ and *.egg-info beside its sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "optexec", source / "optexec", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels),
         str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("optexec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "optexec/sample_data/sample_bars.parquet" in names and "optexec/schemas/plan.schema.json" in names
    assert not any(n.startswith(("tests/", "pages/", "benchmarks/")) for n in names)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)
    return venv / "bin"


def _outside_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell: no checkout on the path; the test's private sample store."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HOME"] = str(tmp_path)  # the default database would live here; OPTEXEC_DB (conftest) points elsewhere
    return env


def test_the_optexec_command_plans_from_outside_the_checkout(installed, tmp_path):
    argv = [str(installed / "optexec"), "plan", "--symbol", "SYN-LARGE", "--side", "buy", "--shares", "200000",
            "--horizon-days", "0.5", "--slices", "13", "--json"]  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, env=_outside_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "optexec.plan/1" and len(document["strategies"]) >= 8


def test_the_installed_package_runs_the_readme_example_and_finds_its_sample(installed, tmp_path):
    python = str(installed / "python")
    where = "import optexec, optexec.store.sample as s; print(optexec.__file__); print(s.DATA_DIR)"
    done = subprocess.run([python, "-c", where], cwd=tmp_path, env=_outside_env(tmp_path), capture_output=True,
                          text=True, check=True)  # fmt: skip
    module, data = done.stdout.split()
    assert str(installed.parent) in module and str(installed.parent) in data  # the venv's copy, not the checkout's
    done = subprocess.run([python, "-c", readme_block("api-example")], cwd=tmp_path, env=_outside_env(tmp_path),
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "TWAP" in done.stdout


def test_a_new_user_gets_the_sample_database_in_their_data_folder(installed, tmp_path):
    env = {k: v for k, v in _outside_env(tmp_path).items() if k not in ("OPTEXEC_DB", "XDG_DATA_HOME")}
    done = subprocess.run([str(installed / "optexec"), "db", "info", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["path"] == str(tmp_path / ".local" / "share" / "optexec" / "optexec.duckdb")
    assert info["tables"]["bars"]["rows"] > 0
