"""Command line: ``optexec <command>`` (or ``python -m optexec``), DESIGN.md section 7.

User errors exit with status 2 and one plain line on stderr, never a traceback (``optexec.cli.common``). The
global options ``--db`` and ``--json`` go before or after the sub-command.

Start-up is kept short: the top-level parser knows each sub-command by name and help line only (``COMMANDS``);
the chosen sub-command's options, and the modules they need, are loaded when it is the one being run. So
``optexec --help`` imports no numpy, and ``optexec db info`` none of the planning code.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from optexec import __version__
from optexec.cli.common import GLOBAL_DEFAULTS, Parser, UserError, global_options

#: sub-command -> (help line, "module:function" that adds its options to its parser)
COMMANDS = {
    "plan": ("every strategy's schedule and cost for an order", "optexec.cli.plan_commands:configure_plan"),
    "sweep": (
        "closed-form cost and risk of every strategy over a parameter grid",
        "optexec.cli.plan_commands:configure_sweep",
    ),
    "simulate": ("Monte Carlo cost distribution of every strategy", "optexec.cli.simulate_commands:configure"),
    "basket": ("a basket's costs, joint risk and multi-asset schedule", "optexec.cli.basket_commands:configure"),
    "load": ("validate a market-data file and load it into the database", "optexec.store.commands:configure_load"),
    "db": ("inspect the database, correct a market, create a database", "optexec.store.commands:configure_db"),
    "export": ("write the store's market tables to a Parquet lake", "optexec.store.commands:configure_export"),
    "calibrate": (
        "estimate a symbol's volatility, liquidity and impact parameters",
        "optexec.calibration.commands:configure",
    ),
}

#: commands that write to the store: they say so on stderr while they wait for another process to let it go
WRITERS = {"load", "calibrate", "db init"}


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: its first word that is not an option or the value of ``--db``."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser, with the options of the sub-command ``argv`` names (all of them when ``argv`` is None)."""
    chosen = _chosen_command(argv) if argv is not None else None
    parent = global_options()
    parser = Parser(prog="optexec", description="optexec: pre-trade execution planning", parents=[parent])
    parser.add_argument("--version", action="version", version=f"optexec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    for name, (help_line, configure) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_line, description=help_line, parents=[parent])
        if argv is None or name == chosen:
            module, function = configure.split(":")
            getattr(importlib.import_module(module), function)(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (0 done, 2 a user error). ``--help`` exits through SystemExit(0)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return _run(args)


def _run(args) -> int:
    import duckdb

    from optexec.store import db

    already_open, env_db = db.open_handles(), os.environ.get(db.ENV_VAR)
    try:
        if args.db:  # everything the command opens (e.g. a stored RL policy) is in this store
            os.environ[db.ENV_VAR] = args.db
        command = " ".join(filter(None, [args.command, getattr(args, "db_command", None)]))
        if command in WRITERS and not getattr(args, "dry_run", False):
            db.set_wait_notice(lambda message: print(message, file=sys.stderr, flush=True))
        return args.func(args)
    except (UserError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except duckdb.Error as error:  # the store failed under a command: one line, no traceback
        print(f"error: the database failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. head: stop quietly
        sys.stderr.close()
        return 0
    finally:
        db.set_wait_notice(None)
        db.release_handles(keep=already_open)  # a one-shot command lets go of the store as soon as it is done
        if env_db is None:
            os.environ.pop(db.ENV_VAR, None)
        else:
            os.environ[db.ENV_VAR] = env_db
