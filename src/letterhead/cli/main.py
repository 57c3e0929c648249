"""The ``letterhead`` command.  The only layer that prints, colours and picks
exit codes; every command is a thin wrapper over a function of the package.

Exit codes: 0 success; 1 an error in the input (the message names the file,
line and fix); 2 ``--check`` found stale output; 3 an unexpected internal error.
"""

from __future__ import annotations

import gc

# Imports allocate tens of thousands of objects that live as long as the
# process; the cyclic GC scanning them again and again costs ~10 % of the
# import time (~10 ms of a build).  Off while this module's imports run, back
# on at its end; commands that import more do it under _imports().
gc.disable()

import json  # noqa: E402
import sys  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Iterator  # noqa: E402

import click  # noqa: E402

from .. import __version__  # noqa: E402
from ..config import Config, load_config  # noqa: E402
from ..errors import LetterheadError  # noqa: E402


# Set by commands that leave nothing for Python's shutdown to do (no threads,
# sockets or atexit work; files closed): main() then flushes the output and
# ends the process without tearing down every loaded module (~12 ms of a build).
_skip_teardown = False


@contextmanager
def _imports() -> Iterator[None]:
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
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.root)
        return self._config


def _emit_json(obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A file name with bytes that are not UTF-8 reaches us with lone
        # surrogates (PEP 383); printed as they are, they make invalid UTF-8
        # or fail.  JSON's \udcXX escapes keep the output valid.
        text = json.dumps(obj, indent=2, sort_keys=True)
    click.echo(text)


def _relativize(exc: LetterheadError, ctx: Ctx) -> None:
    """Show paths relative to the project root, as users type them."""
    loc = exc.location
    if loc is not None and Path(loc.path).is_absolute() and ctx._config is not None:
        exc.location = type(loc)(ctx._config.rel(Path(loc.path)), loc.line)


def _error_dict(exc: LetterheadError) -> dict[str, Any]:
    """An error as JSON, with the errors it gathers (a build of several
    failing templates) and lint findings, which carry the locations."""
    payload = exc.to_dict()
    sub = getattr(exc, "errors", None)
    if sub:
        payload["errors"] = [_error_dict(e) for e in sub]
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
        _relativize(exc, ctx)
        for sub in getattr(exc, "errors", None) or ():
            _relativize(sub, ctx)
        if ctx.as_json:
            _emit_json({"ok": False, **_error_dict(exc)})
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
            _emit_json({"ok": False, "error": "InternalError", "message": f"{type(exc).__name__}: {exc}"})
        else:
            click.secho("INTERNAL ERROR ", fg="red", bold=True, err=True, nl=False)
            click.echo(f"{type(exc).__name__}: {exc}\n  this is a bug in letterhead: rerun with "
                       "LETTERHEAD_DEBUG=1 for the traceback and report it", err=True)
        sys.exit(3)


class LazyGroup(click.Group):
    """Commands that need boto3, moto or a web server are imported only when
    run, so `letterhead build` starts fast."""

    LAZY = {
        "sync": "letterhead.cli.sync:sync",
        "send": "letterhead.cli.send:send",
        "dev": "letterhead.cli.dev:dev",
        "preview": "letterhead.cli.dev:preview",
        "doctor": "letterhead.cli.account:doctor",
        "setup": "letterhead.cli.account:setup",
        "stats": "letterhead.cli.account:stats",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY and name not in self.commands:
            import importlib

            module, attr = self.LAZY[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="letterhead")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project root (default: the nearest folder with pyproject.toml).")
@click.pass_context
def cli(click_ctx: click.Context, root: Path | None) -> None:
    """Transactional email as code for AWS SES.

    Designers write MJML + Jinja in templates_src/; `letterhead build` compiles
    them to build/ (to look at) and ses_templates/ (what SES stores).
    """
    click_ctx.obj = Ctx(root, as_json=False)


def _json_option(f):  # type: ignore[no-untyped-def]
    return click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")(f)


@cli.command()
@click.option("--check", is_flag=True,
              help="Build in memory and exit 2 if build/ or ses_templates/ differ (CI, pre-commit).")
@click.option("--force", is_flag=True, help="Recompile every template, even unchanged ones.")
@_json_option
@click.pass_obj
def build(ctx: Ctx, check: bool, force: bool, as_json: bool) -> None:
    """Compile templates_src/ into build/ and ses_templates/.

    Every sample in samples/*.json must render every part with SES semantics,
    and lint errors fail the build; nothing is written unless all templates pass.
    """
    global _skip_teardown
    with _imports():
        from ..authoring.build import build as run_build

    _skip_teardown = True
    ctx.as_json = as_json
    with reported(ctx):
        config = ctx.config

        def progress(name: str, status: str) -> None:
            if not as_json:
                colour = {"compiled": "green", "unchanged": None, "failed": "red"}[status]
                click.echo(f"  {click.style(status.ljust(9), fg=colour)} {name}", err=True)

        result = run_build(config, check=check, force=force, progress=progress)
        if as_json:
            _emit_json({"ok": True, **result.to_dict()})
            return
        for f in result.warnings:
            click.secho("warning ", fg="yellow", nl=False, err=True)
            click.echo(str(f), err=True)
        n = len(result.reports)
        compiled = sum(r.status == "compiled" for r in result.reports)
        if check:
            click.echo(f"up to date: {n} template(s)")
        else:
            click.echo(
                f"built {n} template(s) ({compiled} compiled, {n - compiled} unchanged); "
                f"{len(result.written)} file(s) written, {len(result.removed)} removed"
            )


@cli.command()
@_json_option
@click.pass_obj
def lint(ctx: Ctx, as_json: bool) -> None:
    """Compile every template in memory and report lint findings (writes no output)."""
    global _skip_teardown
    with _imports():
        from ..authoring.build import build as run_build

    _skip_teardown = True
    ctx.as_json = as_json
    with reported(ctx):
        result = run_build(ctx.config, force=True, write=False)
        findings = [f for r in result.reports for f in r.findings]
        if as_json:
            _emit_json({"ok": True, "findings": [f.to_dict() for f in findings]})
            return
        for f in findings:
            click.secho(f"{f.severity} ", fg="yellow", nl=False)
            click.echo(str(f))
        click.echo(f"{len(result.reports)} template(s), {len(findings)} warning(s), 0 errors")


@cli.command()
@click.argument("template")
@click.option("--sample", default=None, help="Sample name under samples/ (default: the first).")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON file of TemplateData instead of a sample.")
@click.option("--part", type=click.Choice(["subject", "html", "text", "all"]), default="all")
@click.option("--escape/--no-escape", default=False,
              help="Render as handlebars.js (escaping {{x}}) or as the SES guide says (no escaping).")
@_json_option
@click.pass_obj
def render(ctx: Ctx, template: str, sample: str | None, data_file: Path | None, part: str,
           escape: bool, as_json: bool) -> None:
    """Render a built template locally with SES semantics.

    A variable the data lacks is an error naming it: that is a message SES
    would accept, then silently drop.
    """
    from ..authoring.validate import render_parts
    from ..authoring.payload import Manifest, SesTemplate
    from ..authoring.sources import read_json

    ctx.as_json = as_json
    with reported(ctx):
        config = ctx.config
        manifest = Manifest.load(config.ses_dir)
        path = config.ses_dir / f"{template}.json"
        if template not in manifest.templates or not path.is_file():
            import difflib

            near = difflib.get_close_matches(template, list(manifest.templates), n=1)
            raise LetterheadError(
                f"no built template named {template!r}",
                hint=(f"did you mean {near[0]!r}? " if near else "") + "run `letterhead build` first",
            )
        entry = manifest.templates[template]
        payload = SesTemplate.load(path)
        if data_file is not None:
            data = read_json(data_file)
        else:
            names = list(entry.samples)
            chosen = sample or (names[0] if names else None)
            if chosen not in names:
                raise LetterheadError(f"template {template!r} has no sample {chosen!r}",
                                      hint=f"samples: {', '.join(names)}")
            data = read_json(config.source_dir / template / "samples" / f"{chosen}.json", root=config.root)
        parts = render_parts(payload, data, entry.raw_paths, escape=escape)
        if as_json:
            _emit_json({"ok": True, "template": template, **parts})
            return
        for name in ("subject", "html", "text") if part == "all" else (part,):
            if part == "all":
                click.secho(f"--- {name} ---", bold=True)
            click.echo(parts[name].rstrip("\n"))


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit as exc:  # click ends every command with one
        if not _skip_teardown:
            raise
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):  # a closed pipe (`letterhead build | head`) or stream
                code = code or 1
        import os

        os._exit(code)


gc.enable()  # see the top of this module
