"""Session 8's shortcuts in letterhead's Jinja (a cheaper build) give every
variant the output, the untranslated messages and the error of the long way:

* a template's globals are one dict (Jinja's ChainMap of the template's and
  the environment's globals is iterated in Python for every context);
* a message's clean text and catalogue id are worked out once per build for
  all the locales that ask (``Compiler._cleaned``).

Each is checked against the code it replaced (kept below as the reference)
on the committed locale project and on generated ones: many templates
sharing messages (with placeholders, line breaks, plurals and contexts),
translated or not, compiled in every locale, in a random order.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from letterhead.authoring.compile import Compiler, Translations
from letterhead.authoring.jinja_cache import SandboxEnvironment
from letterhead.authoring.linemarks import LineMarks
from letterhead.authoring.sources import load_brand
from letterhead.authoring.variants import load_catalogs
from letterhead.config import load_config
from letterhead.errors import LetterheadError

from .helpers import PROJECTS, make_project


class ReferenceCompiler(Compiler):
    """The compiler's message handling before session 8."""

    def _plural_keys(self, singular: str, plural: str) -> tuple[str, str]:
        return self.table.restore(self._clean(singular)), self.table.restore(self._clean(plural))

    def _translate(self, msgid: str, lookup: Callable[[Translations, str], str | None],
                   plural: tuple[str, str] | None = None, context: str | None = None) -> str:
        clean = self._clean(msgid)
        catalog = self._catalog
        if catalog is None:
            return clean
        key = self.table.restore(self._clean(plural[0]) if plural else clean)
        found = lookup(catalog, key)
        if found is None:
            self._messages.untranslated.append(key)
            return clean
        where = (found, catalog.path, catalog.line_of(key, context) or 1, f"{catalog.path}\0{key}")
        protected = self._protected.get(where) if self._protected is not None else None
        if protected is None:
            protected = self.table.protect(found, where[1], first_line=where[2], key=where[3])
            if self._protected is not None:
                self._protected[where] = protected
        return protected


def renders(root: Path, compiler_class: type[Compiler], order: list[tuple[str, str | None]],
            *, watch: bool = False) -> Iterator[Any]:
    """What Jinja gives each (template, locale) of ``order``: the three
    parts and the untranslated messages, or the error's words."""
    config = load_config(root)
    errors: list[LetterheadError] = []
    catalogs = load_catalogs(config, {locale for _, locale in order}, errors)
    assert not errors
    compiler = compiler_class(config, load_brand(config), watch=watch)
    for name, locale in order:
        compiler._use_catalog(catalogs.get(locale or ""))
        try:
            parts = [compiler._render_jinja(f"{name}/template.mjml"), compiler._render_text(f"{name}/subject.txt")]
            if (config.source_dir / name / "text.txt").is_file():
                parts.append(compiler._render_text(f"{name}/text.txt"))
            yield name, locale, parts, list(compiler._messages.untranslated)
        except LetterheadError as exc:
            yield name, locale, type(exc).__name__, str(exc)
        finally:
            compiler._catalog = compiler._messages.memo = None


def both(root: Path, order: list[tuple[str, str | None]], monkeypatch: pytest.MonkeyPatch,
         *, watch: bool = False) -> tuple[list[Any], list[Any]]:
    new = list(renders(root, Compiler, order, watch=watch))
    with monkeypatch.context() as m:
        m.setattr(SandboxEnvironment, "make_globals", jinja2.Environment.make_globals)
        old = list(renders(root, ReferenceCompiler, order, watch=watch))
    return new, old


KNOWN = ["Hello {{name}},", "Open", "Note: {{note}}", "Welcome, {{name}}"]
WORDS = ["calendar", "ready", "{{name}}", "{{#if x}}", "{{/if}}", "%", "{{{raw}}}", "and", "{{a.b}}", "100%"]


def message(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(KNOWN)
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 6))]
    return "\n            ".join(" ".join(words[i:i + 2]) for i in range(0, len(words), 2))


def statement(rng: random.Random) -> str:
    kind = rng.randrange(5)
    text = message(rng)
    if kind == 0:
        return "{% trans %}" + text + "{% endtrans %}"
    if kind == 1:
        return "{% trans notrimmed %}" + text + "{% endtrans %}"
    one = text.replace("\n", " ").replace('"', "")
    if kind == 2:
        return '[[ _("' + one + '") ]]'
    if kind == 3:
        return '[[ pgettext("ctx' + str(rng.randrange(2)) + '", "' + one + '") ]]'
    return '[[ ngettext("' + one + '", "' + one + ' (many)", ' + str(rng.randint(1, 2)) + ") ]]"


def generated_project(tmp: Path, seed: int) -> tuple[Path, list[tuple[str, str | None]]]:
    rng = random.Random(seed)
    root = make_project(tmp / f"p{seed}", PROJECTS / "locales")
    src = root / "templates_src"
    shutil.rmtree(src / "welcome")
    names = [f"t{i}" for i in range(rng.randint(2, 6))]
    for name in names:
        folder = src / name
        folder.mkdir()
        body = "\n        ".join(statement(rng) for _ in range(rng.randint(1, 8)))
        (folder / "template.mjml").write_text(
            '{% extends "_layouts/base.mjml" %}\n{% block content %}\n<mj-section><mj-column><mj-text>\n        '
            + body + "\n</mj-text></mj-column></mj-section>\n{% endblock %}\n")
        (folder / "subject.txt").write_text(statement(rng).replace("\n", " ") + " {{name}}\n")
        if rng.random() < 0.5:
            (folder / "text.txt").write_text(statement(rng) + "\n[[ brand.name ]]\n" + statement(rng) + "\n")
    order = [(name, locale) for name in names for locale in (None, "es", "ar")]
    if rng.random() < 0.5:
        rng.shuffle(order)
    return root, order


def test_the_committed_locale_project_renders_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, PROJECTS / "locales")
    shutil.copytree(root / "templates_src/welcome", root / "templates_src/again")  # its messages met again
    order = [(name, locale) for name in ("welcome", "again") for locale in (None, "es", "ar")]
    new, old = both(root, order, monkeypatch)
    assert new == old
    assert any(untranslated for *_, untranslated in new)  # the comparison covers untranslated messages


@pytest.mark.parametrize("seed", range(12))
def test_generated_projects_render_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    root, order = generated_project(tmp_path, seed)
    new, old = both(root, order, monkeypatch)
    assert new == old


def test_a_watching_compiler_renders_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, order = generated_project(tmp_path, 99)
    new, old = both(root, order, monkeypatch, watch=True)
    assert new == old


def test_a_template_reads_the_globals_installed_before_it_loaded(tmp_path: Path) -> None:
    # Jinja's own globals and the compiler's gettext callables, through a
    # template, an include and an import with context.
    root = make_project(tmp_path, PROJECTS / "locales")
    src = root / "templates_src"
    (src / "_partials").mkdir()
    (src / "_partials/m.mjml").write_text("{% macro n() %}[[ range(3)|list ]] [[ _('Open') ]]{% endmacro %}")
    (src / "_partials/i.mjml").write_text("[[ gettext('Open') ]] [[ namespace is defined ]]")
    (src / "welcome/template.mjml").write_text(
        '{% import "_partials/m.mjml" as m with context %}{% extends "_layouts/base.mjml" %}'
        '{% block content %}[[ m.n() ]] {% include "_partials/i.mjml" %} [[ lipsum is defined ]]{% endblock %}')
    (rendered,) = [parts for *_, parts, _ in renders(root, Compiler, [("welcome", "es")])]
    assert "[0, 1, 2] Abrir Abrir True True" in LineMarks.MARK_RE.sub("", rendered[0])


def test_an_imported_templates_names_read_as_the_sandbox_reads_them(tmp_path: Path) -> None:
    # SandboxEnvironment.getattr answers a macro of an imported template
    # itself: every name, safe or not, reads as Jinja's sandbox reads it.
    root = make_project(tmp_path, PROJECTS / "locales")
    (root / "templates_src/_partials").mkdir()
    (root / "templates_src/_partials/m.mjml").write_text(
        "{% macro button(x) %}[[ x ]]{% endmacro %}{% macro _hidden() %}h{% endmacro %}"
        '{% set label = "L" %}{% set fmt = "{}!".format %}{% set n = 3 %}{% set items = [1] %}')
    config = load_config(root)
    compiler = Compiler(config, load_brand(config), watch=False)
    module = compiler.env.get_template("_partials/m.mjml").module
    module.__dict__["_sneaky"] = module.__dict__["__sneaky"] = module.button  # (Jinja exports no "_" name)
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment.getattr
    names = ["button", "_hidden", "label", "fmt", "n", "items", "missing", "__name__", "_body_stream", "__class__",
             "__init__", "__dict__", "__html__", "", "_sneaky", "__sneaky"]
    for name in names:
        mine, theirs = compiler.env.getattr(module, name), sandbox(compiler.env, module, name)
        assert type(mine) is type(theirs), name
        if isinstance(theirs, jinja2.Undefined):
            assert (mine._undefined_obj, mine._undefined_name, mine._undefined_hint) == \
                (theirs._undefined_obj, theirs._undefined_name, theirs._undefined_hint), name
        elif name != "fmt":  # a fresh wrapper each time
            assert mine is theirs, name
    assert type(compiler.env.getattr(module, "button")) is jinja2.runtime.Macro
