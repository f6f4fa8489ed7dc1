"""`python -m aggregator.cli`, as when the command line was the module cli.py."""

import sys

from . import main

sys.exit(main())
