#!/usr/bin/env python3
"""Refresh the vendored caniemail data set (``letterhead check``'s client support).

    python tools/refresh_caniemail.py            # the latest release on npm
    python tools/refresh_caniemail.py 2.0.2      # a given version

Runs ``npm pack caniemail@<version>`` in a temporary folder, unpacks it, checks
that ``data/caniemail.json`` still has the shape letterhead reads, copies it and
the package's LICENSE into ``src/letterhead/check/data/`` (as caniemail.json and
caniemail.LICENSE), updates the version line of that folder's README.md and
prints the version and the data's last_update_date.  Run the tests afterwards:
``tests/test_check_clients.py`` checks the feature mapping against the new data.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "caniemail"
DEST = Path(__file__).resolve().parent.parent / "src" / "letterhead" / "check" / "data"
VERSION_LINE = re.compile(r"^Vendored version: .*$", re.MULTILINE)


def fetch(version: str, workdir: Path) -> Path:
    """``npm pack`` the package into ``workdir`` and unpack it; the package folder."""
    try:
        out = subprocess.run(["npm", "pack", f"{PACKAGE}@{version}", "--json", "--silent"], cwd=workdir,
                             check=True, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise SystemExit("npm is not installed: install Node.js (apt-get install npm)") from None
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"npm pack {PACKAGE}@{version} failed:\n{e.stderr.strip()}") from None
    tarball = workdir / json.loads(out.stdout)[0]["filename"]
    root = workdir / "unpacked"
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():  # regular files below package/ only (no links, no ../)
            parts = Path(member.name).parts
            if not member.isfile() or not parts or parts[0] != "package" or ".." in parts:
                continue
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is not None:
                target.write_bytes(source.read())
    return root / "package"


def install(package: Path, dest: Path = DEST) -> tuple[str, str]:
    """Copy an unpacked package's data and licence into ``dest``; (version, last_update_date)."""
    version = str(json.loads((package / "package.json").read_text(encoding="utf-8"))["version"])
    data_file = package / "data" / "caniemail.json"
    data = json.loads(data_file.read_text(encoding="utf-8"))
    features = data.get("data")
    if (not isinstance(features, list) or not features or not isinstance(data.get("nicenames"), dict)
            or not all({"slug", "title", "stats"} <= set(f) for f in features)):
        raise SystemExit(f"{data_file}: not the format letterhead reads (a 'data' list of features with "
                         "slug, title and stats, and 'nicenames'); check letterhead/check/clients.py")
    licence = next((package / name for name in ("LICENSE", "LICENSE.md", "license", "LICENSE.txt")
                    if (package / name).is_file()), None)
    if licence is None:
        raise SystemExit(f"{package}: the package has no LICENSE file; it must be vendored with the data")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_file, dest / "caniemail.json")
    shutil.copyfile(licence, dest / "caniemail.LICENSE")
    updated = str(data.get("last_update_date") or "")
    readme = dest / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        line = f"Vendored version: {version} (data updated {updated})"
        readme.write_text(VERSION_LINE.sub(line, text) if VERSION_LINE.search(text) else text + f"\n{line}\n",
                          encoding="utf-8")
    return version, updated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", nargs="?", default="latest", help="the npm version (default: latest)")
    parser.add_argument("--dest", type=Path, default=DEST, help=f"where to copy the data (default: {DEST})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="caniemail-") as tmp:
        version, updated = install(fetch(args.version, Path(tmp)), args.dest)
    print(f"caniemail {version} (last_update_date {updated}) → {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
