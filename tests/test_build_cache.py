"""The build cache's code fingerprint covers all of letterhead's code: an
edit (or an upgrade) in a subpackage such as authoring/ must not reuse old
output."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import letterhead.authoring.build as build_mod


def test_a_change_in_a_subpackage_changes_the_fingerprint() -> None:
    for name in ("letterhead.authoring.compile", "letterhead.sestemplate.render"):
        path = Path(str(importlib.import_module(name).__file__))
        st = path.stat()
        build_mod._code_fingerprint.cache_clear()
        before = build_mod._code_fingerprint()
        try:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
            build_mod._code_fingerprint.cache_clear()
            assert build_mod._code_fingerprint() != before, path
        finally:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            build_mod._code_fingerprint.cache_clear()
