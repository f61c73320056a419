"""The one JSON serialiser of results: the command line's ``--json`` and the API's ``to_json()`` both go through it.

Every document names its kind and the version of its layout (``"schema": "optexec.plan/1"``); the layouts are JSON
Schemas in ``optexec/schemas`` (``schema_path``), checked against real outputs by the tests. A layout that changes
incompatibly gets a new version number.

JSON has no NaN or infinity. A result holding one is a ValueError that names where it is, never an invalid token
(the results put null, with a reason, where a value is undefined). Standard library only: the command line imports
this before anything heavy.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

#: the version of every output layout, by kind (bump one when its layout changes incompatibly)
SCHEMA_VERSIONS = {
    "plan": 1,
    "sweep": 1,
    "simulate": 1,
    "basket": 1,
    "calibrate": 1,
    "load": 1,
    "db-info": 1,
    "db-market": 1,
    "db-init": 1,
    "export": 1,
    "calibrate-universe": 1,
}


def schema_id(kind: str) -> str:
    """The value of a document's ``schema`` field, e.g. "optexec.plan/1"."""
    return f"optexec.{kind}/{SCHEMA_VERSIONS[kind]}"


def schema_path(kind: str) -> Path:
    """The JSON Schema file of an output kind (package data)."""
    return Path(str(resources.files("optexec") / "schemas" / f"{kind}.schema.json"))


def stamped(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its ``schema`` field first."""
    return {"schema": schema_id(kind), **{k: v for k, v in document.items() if k != "schema"}}


def first_non_finite(value: Any, where: str = "") -> str | None:
    """Where the first NaN or infinity of a JSON-ready structure is, e.g. "strategies[2].mean_cost_usd"."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where or 'the result'} = {value}"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = first_non_finite(item, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip("."))
        if found:
            return found
    return None


#: above this many numbers' worth of slices a document is written without indentation: Python's json module
#: encodes indented output in pure Python (about 1 s per million numbers), unindented output in C
INDENT_MAX_SLICES = 1_000


def dumps(data: Any, indent: int | None = 1) -> str:
    """``data`` as JSON that is valid everywhere (module docstring); ValueError naming a non-finite number."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:
        raise ValueError(
            f"the result holds a number that is not finite ({first_non_finite(data)}): the inputs are outside the "
            "model's range"
        ) from None
