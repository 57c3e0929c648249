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
# on at its end; commands that import more do it under common.heavy_imports().
gc.disable()

import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import ClassVar  # noqa: E402

import click  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import LetterheadError  # noqa: E402
from . import regex_cache  # noqa: E402
from .common import Ctx, emit_json, heavy_imports, reported  # noqa: E402

# Set by commands that leave nothing for Python's shutdown to do (no threads,
# sockets or atexit work; files closed): main() then flushes the output and
# ends the process without tearing down every loaded module (~12 ms of a build).
_skip_teardown = False


class LazyGroup(click.Group):
    """Commands that need boto3, moto or a web server are imported only when
    run, so `letterhead build` starts fast."""

    LAZY: ClassVar[dict[str, str]] = {
        "sync": "letterhead.cli.sync:sync",
        "send": "letterhead.cli.send:send",
        "dev": "letterhead.cli.dev:dev",
        "preview": "letterhead.cli.dev:preview",
        "doctor": "letterhead.cli.account:doctor",
        "setup": "letterhead.cli.account:setup",
        "stats": "letterhead.cli.account:stats",
        "events": "letterhead.cli.events:events",
        "suppression": "letterhead.cli.suppression:suppression",
        "i18n": "letterhead.cli.i18n:i18n",
        "types": "letterhead.cli.types:types",
        "check": "letterhead.cli.check:check",
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


def _json_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")(f)


@cli.command()
@click.option("--check", is_flag=True,
              help="Build in memory and exit 2 if build/ or ses_templates/ differ (CI, pre-commit).")
@click.option("--force", is_flag=True, help="Recompile every template, even unchanged ones.")
@click.option("--strict", is_flag=True,
              help="Fail on untranslated messages (otherwise a warning: they read in the source language).")
@_json_option
@click.pass_obj
def build(ctx: Ctx, check: bool, force: bool, strict: bool, as_json: bool) -> None:
    """Compile templates_src/ into build/ and ses_templates/.

    Every sample in samples/*.json must render every part with SES semantics,
    and lint errors fail the build; nothing is written unless all templates pass.
    With `locales` in [tool.letterhead], each template is built once per
    locale (`<name>__<locale>`, the default locale keeps the plain name).
    """
    global _skip_teardown
    with heavy_imports():
        from ..authoring.build import build as run_build

    _skip_teardown = True
    ctx.as_json = as_json
    with reported(ctx):
        config = ctx.config

        def progress(name: str, status: str) -> None:
            if not as_json:
                colour = {"compiled": "green", "unchanged": None, "failed": "red"}[status]
                click.echo(f"  {click.style(status.ljust(9), fg=colour)} {name}", err=True)

        result = run_build(config, check=check, force=force, strict=strict, progress=progress)
        if as_json:
            emit_json({"ok": True, **result.to_dict()})
            return
        for f in result.warnings:
            click.secho("warning ", fg="yellow", nl=False, err=True)
            click.echo(str(f), err=True)
        for locale, counts in sorted(result.untranslated().items()):
            total = sum(counts.values())
            each = ", ".join(f"{name}: {n}" for name, n in sorted(counts.items()))
            click.secho("warning ", fg="yellow", nl=False, err=True)
            click.echo(f"{locale}: {total} untranslated message(s) read in the source language ({each}); "
                       "`letterhead i18n update`, then translate them (--strict fails the build)", err=True)
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
@click.option("--list", "list_rules", is_flag=True,
              help="List every rule: its code, default severity and what it checks.")
@_json_option
@click.pass_obj
def lint(ctx: Ctx, list_rules: bool, as_json: bool) -> None:
    """Compile every template in memory and report lint findings (writes no output).

    Tune a rule in pyproject.toml, `[tool.letterhead.lint]` with `<code> =
    "error" | "warning" | "off"`, or for one template in the `[lint]` table of
    its template.toml.  The same table tunes the rules of `letterhead check`
    (stage "check" in --list).
    """
    global _skip_teardown
    ctx.as_json = as_json
    if list_rules:
        from ..authoring.lint import RULES

        if as_json:
            emit_json({"ok": True, "rules": [r.to_dict() for r in RULES.values()]})
            return
        width = max(len(code) for code in RULES)
        for rule in RULES.values():
            fixed = "" if rule.tunable else " (always an error)"
            click.echo(f"{rule.code.ljust(width)}  {rule.default.ljust(7)}  {rule.stage.ljust(5)}  "
                       f"{rule.description}{fixed}")
        return
    with heavy_imports():
        from ..authoring.build import build as run_build

    _skip_teardown = True
    with reported(ctx):
        result = run_build(ctx.config, force=True, write=False)
        findings = [f for r in result.reports for f in r.findings]
        if as_json:
            emit_json({"ok": True, "findings": [f.to_dict() for f in findings]})
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
    from ..authoring.payload import Manifest, SesTemplate
    from ..authoring.sources import read_json
    from ..authoring.validate import render_parts

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
            data, source = read_json(data_file), str(data_file)
        else:
            names = list(entry.samples)
            chosen = sample or (names[0] if names else None)
            if chosen not in names:
                raise LetterheadError(f"template {template!r} has no sample {chosen!r}",
                                      hint=f"samples: {', '.join(names)}")
            sample_path = config.source_dir / template / "samples" / f"{chosen}.json"
            data, source = read_json(sample_path, root=config.root), config.rel(sample_path)
        # every missing variable at once, named as the application sends it
        parts = render_parts(payload, data, entry.raw_paths, escape=escape, data_name=source)
        if as_json:
            emit_json({"ok": True, "template": template, **parts})
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
        regex_cache.save()  # the patterns this run compiled, for the next (regex_cache)
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
