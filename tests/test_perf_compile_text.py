"""subject.txt and text.txt rendered without Jinja (session 7: Compiler._render_text
reads plain text, ``[[ brand.x ]]``, comments and ``{% trans %}`` blocks of brand
values itself) give Jinja's output, or Jinja's error, on any text and any
translation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from letterhead.authoring.compile import Compiler
from letterhead.authoring.jinja_cache import text_plan
from letterhead.config import load_config
from letterhead.errors import LetterheadError

from .test_compile import make

BRAND = {"name": "Acme Co", "year": 2026, "flag": True, "items": "not a method", "pct": "50%",
         "nested": {"deep": "d"}}
PLAIN = ["plain ", "Hi ", "%", "%%", "100% ", "%(n)s", "\n", "\n\n", "  ", "\t", " \n  ", "{{v}}", "{{#if x}}",
         "]]", "#]", "%}", "\u00a0", "é", "\r\n"]
COMMENTS = ["[# c #]", "[#- c #]", "[# c -#]", "[#+ c #]", "[# c +#]", "[##]", "[# a\n b #]", "[# {% x %} #]"]
BRAND_EXPRS = ["[[ brand.name ]]", "[[brand.year]]", "[[ brand.flag ]]", "[[ brand.items ]]", "[[ brand.pct ]]",
               "[[ brand.nested.deep ]]", "[[ brand.nope ]]", "[[ brand.name|upper ]]", "[[ brand.nested ]]"]
OPENERS = ["{% trans %}", "{% trans n=brand.name %}", "{% trans n=brand.name, y=brand.year %}",
           "{% trans n=brand.pct %}", "{%trans n = brand.nested.deep%}", "{% trans n=brand.flag %}",
           "{% trans n=brand.name, n=brand.year %}", "{% trans trimmed %}", "{%- trans %}", "{% trans -%}",
           "{% trans 'ctx' %}", "{% trans n=brand.items %}", "{% trans brand=brand.name %}"]
IN_BODY = ["[[ n ]]", "[[y]]", "[[ x ]]", "[[ brand ]]", "[[ n|upper ]]", "[# c #]", "{% if 1 %}"]
CLOSERS = ["{% endtrans %}", "{%endtrans%}", "{% endtrans -%}", "{% pluralize %}s{% endtrans %}", ""]


def random_text(rng: random.Random) -> str:
    """Half the texts only of what the direct way reads, half of anything."""
    valid = rng.random() < 0.6

    def pick(good: list[str], every: list[str]) -> str:  # in a valid text, now and then a tricky piece
        return rng.choice(every if not valid or rng.random() < 0.12 else good)

    out: list[str] = []
    for _ in range(rng.randint(0, 5)):
        kind = rng.random()
        if kind < 0.3:
            out.append(pick(PLAIN[:-1], PLAIN))
        elif kind < 0.4:
            out.append(pick(PLAIN[6:11], PLAIN) + pick(COMMENTS[:1] + COMMENTS[5:], COMMENTS) + pick(PLAIN[6:11], PLAIN))
        elif kind < 0.55:
            out.append(pick(BRAND_EXPRS[:2] + BRAND_EXPRS[4:6], BRAND_EXPRS))
        elif not valid:
            body = [rng.choice(PLAIN + IN_BODY) for _ in range(rng.randint(0, 4))]
            out.append(rng.choice(OPENERS) + "".join(body) + rng.choice(CLOSERS))
        else:  # every value the tag declares printed in the body, and only those
            opener, names = rng.choice([("{% trans %}", []), ("{%trans%}", []), ("{% trans n=brand.name %}", ["n"]),
                                        ("{% trans n = brand.pct, y=brand.year %}", ["n", "y"]),
                                        ("{% trans y=brand.nested.deep %}", ["y"]), ("{% trans n=brand.flag %}", ["n"]),
                                        ("{% trans n=brand.items %}", ["n"]),
                                        ("{% trans n=brand.name, n=brand.year %}", ["n"])])
            body = [rng.choice(PLAIN[:-1] + [f"[[ {n} ]]" for n in names]) for _ in range(rng.randint(0, 4))]
            body += [f"[[{n}]]" for n in names]
            if rng.random() < 0.1:
                body.append(rng.choice(COMMENTS))
            rng.shuffle(body)
            out.append(opener + "".join(body) + pick(CLOSERS[:2], CLOSERS))
    return "".join(out)


class Catalogue:
    """Translates some messages: as they are, marked, with a stray or unknown
    format, or not at all (the build keeps the msgid)."""

    path = "templates_src/_locales/xx/LC_MESSAGES/messages.po"

    def gettext(self, msgid: str) -> str | None:
        kind = sum(map(ord, msgid)) % 5
        return [None, f"T<{msgid}>", f"{msgid} 5%", f"%(zz)s {msgid}", msgid.upper()][kind]

    def ngettext(self, singular: str, plural: str, n: int) -> str | None:
        return None

    def pgettext(self, context: str, msgid: str) -> str | None:
        return None

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str | None:
        return None

    def line_of(self, msgid: str, context: str | None = None) -> int | None:
        return 3


def outcome(compiler: Compiler, render: str, name: str) -> str:
    try:
        return "ok: " + getattr(compiler, render)(name)
    except LetterheadError as exc:
        return f"error: {exc.message} @ {exc.location}"


@pytest.mark.parametrize("catalogue", [None, Catalogue()])
def test_text_files_render_as_jinja_renders_them(tmp_path: Path, catalogue: Catalogue | None) -> None:
    root = make(tmp_path, "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section>")
    folder = root / "templates_src" / "t"
    compiler = Compiler(load_config(root), BRAND)  # a watching compiler: nothing kept between cases
    compiler._use_catalog(catalogue)
    rng = random.Random(11)
    direct = 0
    for i in range(700):
        text = random_text(rng)
        (folder / f"case{i}.txt").write_bytes(text.encode("utf-8"))
        name = f"t/case{i}.txt"
        compiler._messages.untranslated.clear()
        got = outcome(compiler, "_render_text", name)
        untranslated = list(compiler._messages.untranslated)
        compiler._messages.untranslated.clear()
        assert got == outcome(compiler, "_render_jinja", name), text
        if got.startswith("ok"):
            assert untranslated == compiler._messages.untranslated, text
        plan = text_plan(compiler.loader.get_source(compiler.env, name)[0], BRAND)
        direct += plan is not None and len(plan) > 1
    assert direct > 60  # the direct way was exercised, {% trans %} blocks and all


def test_a_build_renders_trans_subjects_without_jinja(tmp_path: Path) -> None:
    root = make(tmp_path, "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section>",
                subject="[# Translators: a subject #]{% trans n=brand.name %}{{name}} joined [[ n ]]{% endtrans %}\n")
    compiler = Compiler(load_config(root), {"name": "Acme"}, watch=False)
    compiler.env.get_template = None  # type: ignore[method-assign, assignment]  # Jinja must not be asked
    assert compiler._render_text("t/subject.txt").endswith(" joined Acme\n")
