"""Runs the command line as ``python -m speechbrain_atst.cli``.

Authors
 * speechbrain-atst team 2026
"""

import sys

from speechbrain_atst.cli import main

if __name__ == "__main__":
    sys.exit(main())
