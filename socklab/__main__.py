"""``python -m socklab``: see socklab.cli."""

import sys

from .cli import main

sys.exit(main())
