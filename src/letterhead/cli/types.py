"""``letterhead types``: the Python module of the application's template data.

Reads ``ses_templates/manifest.json`` (what ``letterhead build`` wrote) and
writes a ``TypedDict`` per template, ``Literal`` template names and typed
``send`` overloads (:func:`letterhead.authoring.types.generate_module`) to
``--out`` or ``types_module`` of ``[tool.letterhead]``.  The file keeps its
bytes when nothing changed.

Exit codes: 0 written (or already current); 1 an error (no output path, no
built templates); 2 ``--check`` found the file missing or stale.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError, DataError, Location, StaleOutputError
from .common import Ctx, emit_json, reported


@click.command("types", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the module (default: types_module in [tool.letterhead]).")
@click.option("--check", is_flag=True, help="Write nothing; exit 2 if the module is missing or stale (CI).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project root (default: the nearest folder with pyproject.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_context
def types(click_ctx: click.Context, out: Path | None, check: bool, root: Path | None, as_json: bool) -> None:
    """Write the Python module of the templates' data types for the application.

    A TypedDict per template (CoparentInvitationData for coparent_invitation),
    nested for objects and list items, NotRequired for optional variables;
    TemplateName; and typed(mailer), whose send() mypy and pyright check
    against the template's data.  Reads ses_templates/manifest.json: run
    `letterhead build` first.
    """
    from ..authoring.payload import MANIFEST_NAME, Manifest
    from ..authoring.types import generate_module, module_is_current, typed_dict_names, write_module

    parent = click_ctx.obj if isinstance(click_ctx.obj, Ctx) else None
    ctx = Ctx(root if root is not None else (parent.root if parent else None), as_json=as_json)
    with reported(ctx):
        config = ctx.config
        path = out.absolute() if out is not None else config.types_module
        if path is None:
            raise ConfigError(
                "no path for the types module",
                hint='pass --out app/email_types.py, or set types_module = "app/email_types.py" '
                "in [tool.letterhead] of pyproject.toml",
            )
        manifest = Manifest.load(config.ses_dir)
        names = typed_dict_names(manifest)
        if not names:
            raise DataError(
                "no built templates to type",
                location=Location.of(config.rel(config.ses_dir / MANIFEST_NAME)),
                hint="run `letterhead build` first",
            )
        text = generate_module(manifest)
        rel = config.rel(path)
        if check:
            if not module_is_current(path, text):
                raise StaleOutputError(
                    f"{rel} is {'out of date' if path.exists() else 'missing'}: it does not match "
                    f"the templates of {config.rel(config.ses_dir / MANIFEST_NAME)}",
                    hint=f"run `letterhead types{' --out ' + str(out) if out is not None else ''}` "
                    "and commit the result",
                )
            changed = False
        else:
            changed = write_module(path, text)
        if as_json:
            emit_json({"ok": True, "path": rel, "changed": changed, "check": check,
                       "templates": names})
            return
        n = len(names)
        what = f"{n} template{'s' if n != 1 else ''} ({', '.join(names.values())})"
        if check:
            click.echo(f"up to date: {rel}: {what}")
        else:
            click.echo(f"{'wrote' if changed else 'unchanged:'} {rel}: {what}")
