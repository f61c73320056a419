"""The layers stay as DESIGN.md section 2 draws them (issue 16 item 4).

The package's layers and its acyclic imports are import-linter contracts (.importlinter, run here and in .ci/run);
what import-linter cannot see is checked with ``ast``: the pages (not a package) run no SQL and import no DuckDB,
and no module of optexec imports another module's private name.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
#: SQL as a page would write it: keywords in capitals (prose such as "Select a symbol from the list" is not SQL)
SQL = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bCREATE\s+(TABLE|VIEW)\b|\bDELETE\s+FROM\b|"
                 r"\bUPDATE\s+\w+\s+SET\b|\bDROP\s+TABLE\b")  # fmt: skip
QUERIES = ("execute", "sql")  # the DuckDB calls that run SQL


def sql_problems(source: str) -> list[str]:
    """What in a page's source is SQL or DuckDB: imports of duckdb, ``.execute(`` / ``.sql(`` calls, SQL strings."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "duckdb" for a in node.names):
            problems.append(f"line {node.lineno}: imports duckdb")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "duckdb":
            problems.append(f"line {node.lineno}: imports from duckdb")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERIES:
            problems.append(f"line {node.lineno}: calls .{node.func.attr}(")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            problems.append(f"line {node.lineno}: SQL text {node.value[:40]!r}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_call_the_core_and_run_no_sql(page):
    assert sql_problems(page.read_text()) == []


def test_the_page_check_finds_sql():
    page = 'import duckdb\nwith db.reading() as con:\n    rows = con.execute("SELECT symbol FROM orders").fetchall()\n'
    assert len(sql_problems(page)) == 3
    assert sql_problems('st.write("Select a symbol from the list")') == []


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_imports(path: Path) -> list[str]:
    """``from m import _name`` and ``m._name`` (m an imported module) of another module, in one file."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    modules: set[str] = set()  # names bound to imported modules in this file
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([source] if source else [])])
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {source} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)  # may be a module (from optexec import market)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):  # fmt: skip
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_name():
    found = [line for path in sorted((ROOT / "optexec").rglob("*.py")) for line in private_imports(path)]
    assert found == []


def test_the_private_check_finds_both_forms(tmp_path):
    (tmp_path / "optexec").mkdir()
    bad = tmp_path / "optexec" / "bad.py"
    bad.write_text("from optexec.store.db import _fetch\nfrom optexec import market\nx = market._constants\n")
    global ROOT
    kept, ROOT = ROOT, tmp_path
    try:
        assert len(private_imports(bad)) == 2
    finally:
        ROOT = kept


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter is not installed")
def test_the_layer_contracts_hold():
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(shutil.which("lint-imports")).parent)}
    done = subprocess.run(["lint-imports", "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "broken" in done.stdout.lower() and "0 broken" in done.stdout
