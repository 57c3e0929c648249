#!/usr/bin/env python3
"""CI entry point: ``python sync.py …`` is ``letterhead sync …``.

Needs only boto3 and click (no MJML toolchain): a deploy job can run it from
a checkout with ``ses_templates/`` even when letterhead is not installed.
Exit codes: 0 done or in sync, 1 error, 2 ``--check`` found drift.
"""

import sys
from pathlib import Path

try:
    from letterhead.cli.sync import sync
except ImportError:  # a plain checkout: use the package beside this file
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    from letterhead.cli.sync import sync

if __name__ == "__main__":
    sync.main(args=sys.argv[1:], prog_name="sync.py")
