"""``python -m optexec``: the command line (optexec.cli), the same as the ``optexec`` command."""

import sys

from optexec.cli import main

sys.exit(main())
