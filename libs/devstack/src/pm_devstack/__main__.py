"""``python -m pm_devstack`` (and the ``pm-devstack`` script)."""

from __future__ import annotations

import sys

from pm_devstack.cli import main

if __name__ == "__main__":
    sys.exit(main())
