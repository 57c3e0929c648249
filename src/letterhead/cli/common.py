"""What every command of the command line shares: the context object (the
project's configuration, read once, on first use), JSON output, and the one
place that turns letterhead's errors into a red ERROR block (or a JSON object)
and an exit code.  Command modules import this, never :mod:`.main`."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..config import Config, load_config
from ..errors import LetterheadError


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Around a command's own (heavy) imports: no GC passes meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Ctx:
    def __init__(self, root: Path | None, as_json: bool) -> None:
        self.root = root
        self.as_json = as_json
        self._config: Config | None = None

    @property
    def loaded_config(self) -> Config | None:
        """The configuration if a command has read it, else None."""
        return self._config

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.root)
        return self._config


def emit_json(obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A file name with bytes that are not UTF-8 reaches us with lone
        # surrogates (PEP 383); printed as they are, they make invalid UTF-8
        # or fail.  JSON's \udcXX escapes keep the output valid.
        text = json.dumps(obj, indent=2, sort_keys=True)
    click.echo(text)


def relativize(exc: LetterheadError, ctx: Ctx) -> None:
    """Show paths relative to the project root, as users type them."""
    loc = exc.location
    if loc is not None and Path(loc.path).is_absolute() and ctx.loaded_config is not None:
        exc.location = type(loc)(ctx.loaded_config.rel(Path(loc.path)), loc.line)


def error_dict(exc: LetterheadError) -> dict[str, Any]:
    """An error as JSON, with the errors it gathers (a build of several
    failing templates) and lint findings, which carry the locations."""
    payload = exc.to_dict()
    sub = getattr(exc, "errors", None)
    if sub:
        payload["errors"] = [error_dict(e) for e in sub]
    findings = getattr(exc, "findings", None)
    if findings:
        payload["findings"] = [f.to_dict() for f in findings]
    return payload


@contextmanager
def reported(ctx: Ctx) -> Iterator[None]:
    """Domain errors → one red ERROR block (or a JSON object) and an exit code."""
    try:
        yield
    except LetterheadError as exc:
        relativize(exc, ctx)
        for sub in getattr(exc, "errors", None) or ():
            relativize(sub, ctx)
        if ctx.as_json:
            emit_json({"ok": False, **error_dict(exc)})
        else:
            click.secho("ERROR ", fg="red", bold=True, err=True, nl=False)
            click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except Exception as exc:  # a bug in letterhead, not the user's input
        import os
        import traceback

        if os.environ.get("LETTERHEAD_DEBUG"):
            traceback.print_exc()
        if ctx.as_json:
            emit_json({"ok": False, "error": "InternalError", "message": f"{type(exc).__name__}: {exc}"})
        else:
            click.secho("INTERNAL ERROR ", fg="red", bold=True, err=True, nl=False)
            click.echo(f"{type(exc).__name__}: {exc}\n  this is a bug in letterhead: rerun with "
                       "LETTERHEAD_DEBUG=1 for the traceback and report it", err=True)
        sys.exit(3)
