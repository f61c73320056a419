"""What every sub-command of the command line shares: its error, its parser class, the global options, the store.

One error convention: a mistake in the command line or its inputs is one plain line on stderr, ``error: ...``,
and exit status 2, never a traceback or a usage block. The global options (``--db``, ``--json``) are accepted
before or after the sub-command. Standard library and the store's connection module only: ``optexec --help``
imports this.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from optexec import json_output

if TYPE_CHECKING:
    import duckdb


class UserError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # one plain line, not the usage block
        raise UserError(f"{self.prog}: {message} (see --help)")


def global_options() -> Parser:
    """A parent parser of the options every sub-command takes, before or after its name.

    Their defaults are SUPPRESS so that a value given before the sub-command is not overwritten by the sub-command's
    own default; ``main`` fills in the defaults afterwards.
    """
    parent = Parser(add_help=False)
    group = parent.add_argument_group("global options")
    group.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="DuckDB database file (default: $OPTEXEC_DB, else ~/.local/share/optexec/optexec.duckdb, built from "
        "the bundled sample on first use)",
    )
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    return parent


GLOBAL_DEFAULTS = {"db": None, "json": False}


def dump_json(kind: str, data: dict, indent: int | None = 1) -> str:
    """A command's JSON document, stamped with its schema (optexec.json_output); a non-finite number is a
    UserError naming it."""
    try:
        return json_output.dumps(json_output.stamped(kind, data), indent=indent)
    except ValueError as error:
        raise UserError(str(error)) from None


@contextlib.contextmanager
def read_store(args: argparse.Namespace) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on the command's store (``--db``) for the ``with`` block; blocks inside it (the
    symbol's parameters, a stored RL policy) join it, so a command reads one state of the store. A store that cannot
    be read (busy past the wait, not a database, a missing file other than the default) is a UserError."""
    from optexec.store import db

    with contextlib.ExitStack() as stack:
        try:
            con = stack.enter_context(db.reading(args.db))
        except ValueError as error:
            raise UserError(f"cannot read the symbol's parameters: {error}") from None
        yield con
