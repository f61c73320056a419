"""``python -m optexec``: the command line (optexec.cli)."""

import sys

from optexec.cli import main

sys.exit(main())
