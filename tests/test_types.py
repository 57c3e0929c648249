"""Typed data for the application (issue 15): ``letterhead types`` writes a
Python module of TypedDicts and typed ``send`` overloads from the manifest,
and the build a JSON Schema per template.

The proof is mypy itself: an application file with a missing key or a
wrong type fails ``mypy --strict`` naming the template's TypedDict, a correct
one passes.  The schemas are checked by a real validator on the committed samples.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types as pytypes
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from letterhead.authoring.payload import Manifest, ManifestEntry
from letterhead.authoring.schema import generate_schemas
from letterhead.authoring.types import HEADER_COMMENT, generate_module, typed_dict_names
from letterhead.cli.types import types

REPO = Path(__file__).resolve().parent.parent
CALNDR = Manifest.load(REPO / "ses_templates")
PYTHON = Path(sys.executable)


# --- helpers -------------------------------------------------------------------------------------


def use(*, required: bool = False, output: bool = False, raw: bool = False, tested: bool = False,
        iterated: bool = False, item_output: bool = False, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """One variable of a contract, in the manifest's JSON form."""
    d: dict[str, Any] = {"required": required, "output": output, "raw": raw, "tested": tested,
                         "iterated": iterated, "scoped": False, "locations": []}
    if iterated:
        d.update(item_output=item_output, item_required=item_output, item_raw=False)
    if fields:
        d["fields"] = fields
    return d


PRINTED = use(required=True, output=True)


def manifest(*entries: ManifestEntry) -> Manifest:
    return Manifest({e.name: e for e in entries})


def entry(name: str, contract: dict[str, Any], variables: dict[str, Any] | None = None, **kw: Any) -> ManifestEntry:
    return ManifestEntry(name=name, content_hash="0", contract=contract, variables=variables or {}, **kw)


def load_module(text: str, folder: Path, name: str = "email_types") -> pytypes.ModuleType:
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"_lh_{name}_{abs(hash(str(folder)))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hints(cls: Any) -> dict[str, str]:
    """A TypedDict's keys → their annotation as text (NotRequired kept), as the module spells it."""
    return {key: spell(hint) for key, hint in typing.get_type_hints(cls, include_extras=True).items()}


def spell(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.NotRequired:
        return f"NotRequired[{spell(args[0])}]"
    if origin in (typing.Union, pytypes.UnionType):
        return " | ".join(spell(a) for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(spell(a) for a in args)}]"
    if hint is Any:
        return "Any"
    if hint is type(None):
        return "None"
    assert isinstance(hint, type), hint
    return hint.__name__


def run_mypy(folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` as an application runs it (its own config: none of the repo's)."""
    config = folder / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    return subprocess.run(
        [str(PYTHON), "-m", "mypy", "--strict", "--config-file", str(config), "--cache-dir",
         str(folder / ".mypy_cache"), "--no-error-summary", "--show-error-codes", *files],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )


def errors_at(output: str, file: str, line: int) -> list[str]:
    return [m for m in output.splitlines() if m.startswith(f"{file}:{line}:")]


# --- the module for the Calndr project --------------------------------------------------------


def test_calndr_module_imports_with_one_typeddict_per_template(tmp_path: Path) -> None:
    text = generate_module(CALNDR)
    assert text.startswith(HEADER_COMMENT + "\n")
    assert "from __future__" not in text  # TypedDicts stay usable at run time
    assert generate_module(CALNDR) == text  # deterministic
    m = load_module(text, tmp_path)

    assert typing.get_args(m.TemplateName) == ("coparent_invitation", "email_verification", "schedule_digest")
    invitation = m.CoparentInvitationData
    assert invitation.__required_keys__ == {"accept_url", "expires_at", "inviter_email", "inviter_name",
                                            "recipient_email"}
    assert invitation.__optional_keys__ == {"children", "note", "recipient_name"}
    h = hints(invitation)
    assert h["accept_url"] == "str"  # declared url
    assert h["inviter_email"] == "str"  # declared email
    assert h["note"] == "NotRequired[str | None]"
    assert h["children"] == "NotRequired[list[CoparentInvitationChildrenItem] | None]"
    # Items of `children`: their `name` is printed (any scalar SES prints; undeclared inside a list).
    assert hints(m.CoparentInvitationChildrenItem) == {"name": "str | int | float | bool"}

    digest = hints(m.ScheduleDigestData)
    assert digest["event_count"] == "int" and digest["handoff_count"] == "int"
    assert digest["unsubscribe_token"] == "str"  # printed by the List-Unsubscribe header: required
    assert "unsubscribe_token" in m.ScheduleDigestData.__required_keys__
    assert digest["has_events"] == "NotRequired[bool | None]"
    assert digest["days"] == "NotRequired[list[ScheduleDigestDaysItem] | None]"
    assert hints(m.ScheduleDigestDaysItem)["events"] == "NotRequired[list[ScheduleDigestDaysEventsItem] | None]"
    events = hints(m.ScheduleDigestDaysEventsItem)
    assert events["is_handoff"] == "NotRequired[Any]"  # only tested: anything is truthy or not
    assert m.ScheduleDigestDaysEventsItem.__required_keys__ == {"time", "title"}
    # Locale variants are not templates of their own.
    assert not [n for n in dir(m) if "Ar" in n or n.endswith("EsData")]
    mailer = object()
    assert m.typed(mailer) is mailer


@pytest.mark.parametrize("which", ["calndr", "no templates"])
def test_the_module_is_clean_for_ruff(tmp_path: Path, which: str) -> None:
    text = generate_module(CALNDR if which == "calndr" else Manifest({}))
    path = tmp_path / "email_types.py"
    path.write_text(text, encoding="utf-8")
    m = load_module(text, tmp_path)
    assert m.typed(path) is path
    ruff = [str(PYTHON.parent / "ruff")]
    # Every rule but docstrings, the licence header, the line length (descriptions are prose) and
    # the package around it (the application's).
    ignore = "D,CPY,E501,COM812,RUF003,INP001"
    lint = subprocess.run([*ruff, "check", "--isolated", "--select", "ALL", "--ignore", ignore, str(path)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run([*ruff, "format", "--isolated", "--check", str(path)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


APP_OK = """\
from letterhead.sending import Mailer, SendReceipt

from email_types import CoparentInvitationData, ScheduleDigestData, TemplateName, typed


def invite(mailer: Mailer) -> SendReceipt:
    return typed(mailer).send(
        "coparent_invitation",
        "co@example.com",
        {
            "accept_url": "https://calndr.club/accept/1",
            "expires_at": "Friday 12 December",
            "inviter_email": "ana@example.com",
            "inviter_name": "Ana",
            "recipient_email": "co@example.com",
            "children": [{"name": "Maya"}, {"name": "Leo"}],
        },
        locale="es-AR",
    )


def digest(mailer: Mailer) -> None:
    data: ScheduleDigestData = {
        "calendar_url": "https://calndr.club/family/1",
        "event_count": 1,
        "handoff_count": 0,
        "preferences_url": "https://calndr.club/prefs",
        "recipient_name": "Ana",
        "unsubscribe_token": "tok_1",
        "week_label": "8-14 December",
        "days": [{"label": "Monday", "date": "2025-12-08", "events": [{"time": "08:15", "title": "School"}]}],
    }
    typed(mailer).send("schedule_digest", ["a@example.com"], data, tags={"kind": "digest"})


def note(data: CoparentInvitationData) -> str | None:
    return data.get("note")


NAME: TemplateName = "email_verification"
"""

# Each case: (line, what mypy must say there).
APP_BAD = """\
from letterhead.sending import Mailer

from email_types import CoparentInvitationData, EmailVerificationData, typed


def bad(mailer: Mailer, verification: EmailVerificationData) -> None:
    missing: CoparentInvitationData = {
        "accept_url": "https://calndr.club/accept/1",
        "expires_at": "Friday 12 December",
        "inviter_email": "ana@example.com",
        "recipient_email": "co@example.com",
    }
    wrong: CoparentInvitationData = {
        "accept_url": "https://calndr.club/accept/1",
        "expires_at": "Friday 12 December",
        "inviter_email": "ana@example.com",
        "inviter_name": "Ana",
        "recipient_email": "co@example.com",
        "children": "Maya",
    }
    typed(mailer).send("email_verification", "a@example.com", {"code": 123, "email": "a@example.com",
                                                               "expires_at": "14:32 UTC"})
    typed(mailer).send("email_verification", "a@example.com", {"email": "a@example.com", "expires_at": "x"})
    typed(mailer).send("coparent_invitation", "co@example.com", verification)
    typed(mailer).send("coparent_invite", "co@example.com", missing)
    code: EmailVerificationData = {"code": 123, "email": "a@example.com", "expires_at": "x"}
"""


def test_mypy_flags_a_missing_key_and_a_wrong_type_and_accepts_a_correct_send(tmp_path: Path) -> None:
    (tmp_path / "email_types.py").write_text(generate_module(CALNDR), encoding="utf-8")
    (tmp_path / "app_ok.py").write_text(APP_OK, encoding="utf-8")
    (tmp_path / "app_bad.py").write_text(APP_BAD, encoding="utf-8")

    bad = run_mypy(tmp_path, "app_bad.py")
    out = bad.stdout
    assert bad.returncode == 1, out + bad.stderr
    # A missing required key, named with its TypedDict.
    assert errors_at(out, "app_bad.py", 7) == [
        'app_bad.py:7: error: Missing key "inviter_name" for TypedDict "CoparentInvitationData"  [typeddict-item]']
    # A wrong type: a string where the template iterates a list of objects.
    assert errors_at(out, "app_bad.py", 19) == [
        'app_bad.py:19: error: Incompatible types (expression has type "str", TypedDict item "children" has type '
        '"list[CoparentInvitationChildrenItem] | None")  [typeddict-item]']
    # Inline data: no overload accepts it; mypy lists the template's data type among the variants.
    for line in (21, 23):
        found = errors_at(out, "app_bad.py", line)
        assert found[0].startswith(f'app_bad.py:{line}: error: No overload variant of "send" of "TypedMailer" '
                                   "matches argument types"), found
        assert any("Literal['email_verification']" in n and "data: EmailVerificationData" in n for n in found)
    # The data of another template.
    assert errors_at(out, "app_bad.py", 24)[0] == (
        'app_bad.py:24: error: No overload variant of "send" of "TypedMailer" matches argument types "str", "str", '
        '"EmailVerificationData"  [call-overload]')
    # A template name that is not one.
    assert errors_at(out, "app_bad.py", 25)[0].startswith('app_bad.py:25: error: No overload variant of "send"')
    assert errors_at(out, "app_bad.py", 26) == [
        'app_bad.py:26: error: Incompatible types (expression has type "int", TypedDict item "code" has type "str")'
        "  [typeddict-item]"]
    assert "email_types.py" not in out  # the generated module itself is clean under --strict

    good = run_mypy(tmp_path, "app_ok.py", "email_types.py")
    assert good.returncode == 0, good.stdout + good.stderr


# --- types from the contract and the declared types ---------------------------------------------


def test_declared_types_decide_and_the_contract_fills_in_objects_lists_and_optional(tmp_path: Path) -> None:
    contract = {
        "name": PRINTED,
        "address": PRINTED,
        "site": PRINTED,
        "tint": PRINTED,
        "count": PRINTED,
        "amount": PRINTED,
        "flag": use(tested=True),
        "tags": use(iterated=True, item_output=True),
        "rows": use(iterated=True, fields={"label": PRINTED, "hint": use(output=True)}),
        "free_list": use(tested=True),
        "user": use(required=True, fields={"first": PRINTED, "last": use(output=True)}),
        "blob": use(tested=True),
        "loose": use(required=True, output=True),
        "maybe": use(tested=True),
        "matrix": use(iterated=True, fields={"[]": use(iterated=True, item_output=True)}),
    }
    variables = {
        "name": {"type": "string"}, "address": {"type": "email"}, "site": {"type": "url"},
        "tint": {"type": "color"}, "count": {"type": "integer"}, "amount": {"type": "number"},
        "flag": {"type": "boolean"}, "tags": {"type": "list"}, "rows": {"type": "list"},
        "free_list": {"type": "list"}, "user": {"type": "object"}, "blob": {"type": "object"},
        "unused": {"type": "integer", "description": "Declared, never printed."},
    }
    m = load_module(generate_module(manifest(entry("kitchen_sink", contract, variables))), tmp_path)
    h = hints(m.KitchenSinkData)
    assert h == {
        "name": "str", "address": "str", "site": "str", "tint": "str", "count": "int",
        "amount": "float | int",
        "flag": "NotRequired[bool | None]",
        "tags": "NotRequired[list[str | int | float | bool] | None]",
        "rows": "NotRequired[list[KitchenSinkRowsItem] | None]",
        "free_list": "NotRequired[list[Any] | None]",
        "user": "KitchenSinkUser",
        "blob": "NotRequired[dict[str, Any] | None]",
        "loose": "str | int | float | bool",
        "maybe": "NotRequired[Any]",
        "matrix": "NotRequired[list[list[str | int | float | bool]] | None]",
        "unused": "NotRequired[int | None]",
    }
    assert m.KitchenSinkRowsItem.__required_keys__ == {"label"}
    assert hints(m.KitchenSinkUser) == {"first": "str | int | float | bool",
                                        "last": "NotRequired[str | int | float | bool | None]"}


def test_keys_python_cannot_spell_and_names_that_clash_still_make_a_valid_module(tmp_path: Path) -> None:
    odd = {"first-name": PRINTED, "class": PRINTED, "__private": PRINTED, "ok": use(output=True)}
    m_ = manifest(
        entry("foo_bar", odd, {"first-name": {"type": "string", "description": 'Quote """ and \\ here'}}),
        entry("foo-bar", {"mailer": use(required=True, fields={"x": PRINTED})}),
        entry("typed", {"mailer": use(required=True, fields={"x": PRINTED})}),
        entry("2fa", {"code": PRINTED}),
    )
    text = generate_module(m_)
    m = load_module(text, tmp_path)
    assert typed_dict_names(m_) == {"2fa": "T2faData", "foo-bar": "FooBarData", "foo_bar": "FooBarData2",
                                    "typed": "TypedData"}
    assert m.FooBarData2.__required_keys__ == {"first-name", "class", "__private"}
    assert m.FooBarData2.__optional_keys__ == {"ok"}
    # A nested class never takes a name the module uses itself (TypedMailer).
    assert hints(m.TypedData) == {"mailer": "TypedMailer2"}
    assert m.TypedMailer2.__required_keys__ == {"x"}
    assert m.T2faData.__required_keys__ == {"code"}
    (tmp_path / "app.py").write_text(
        "from email_types import FooBarData2\n\n"
        'ok: FooBarData2 = {"first-name": "A", "class": "B", "__private": 1}\n'
        'bad: FooBarData2 = {"first-name": "A", "class": "B"}\n', encoding="utf-8")
    result = run_mypy(tmp_path, "app.py", "email_types.py")
    assert result.stdout.strip() == (
        'app.py:4: error: Missing key "__private" for TypedDict "FooBarData2"  [typeddict-item]')


def test_locale_variants_give_one_typeddict_and_a_variable_any_variant_needs_is_required(tmp_path: Path) -> None:
    base = entry("welcome", {"name": PRINTED, "nick": use(output=True)}, {"name": {"type": "string"}},
                 template="welcome", locale="en", variants={"en": "welcome", "es": "welcome__es"})
    es = entry("welcome__es", {"name": PRINTED, "nick": PRINTED}, {"name": {"type": "string"}},
               template="welcome", locale="es")
    m_ = manifest(base, es)
    m = load_module(generate_module(m_), tmp_path)
    assert typing.get_args(m.TemplateName) == ("welcome",)
    assert m.WelcomeData.__required_keys__ == {"name", "nick"}
    assert not hasattr(m, "WelcomeEsData")
    assert list(generate_schemas(m_)) == ["schemas/welcome.json"]
    # One template: a plain method (mypy refuses a lone @overload).
    assert "@overload" not in generate_module(m_)


def test_the_variables_a_header_prints_are_required(tmp_path: Path) -> None:
    # The contract as a manifest without the header variables would have it: the headers alone add them.
    e = entry("digest", {"week": PRINTED}, {"unsubscribe_token": {"type": "string"}}, category="bulk", headers={
        "List-Unsubscribe": "<https://calndr.club/unsub?t={{unsubscribe_token}}>, <mailto:u@calndr.club?subject="
                            "{{user.id}}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    })
    m = load_module(generate_module(manifest(e)), tmp_path)
    assert m.DigestData.__required_keys__ == {"week", "unsubscribe_token", "user"}
    assert hints(m.DigestData)["unsubscribe_token"] == "str"
    assert m.DigestUser.__required_keys__ == {"id"}
    schema = json.loads(generate_schemas(manifest(e))["schemas/digest.json"])
    assert schema["required"] == ["unsubscribe_token", "user", "week"]


# --- JSON Schemas ----------------------------------------------------------------------------------


def _samples(template: str) -> list[Path]:
    folder = REPO / "templates_src" / template / "samples"
    return sorted(folder.rglob("*.json"))


def test_the_schemas_accept_every_committed_sample_and_refuse_broken_data() -> None:
    schemas = generate_schemas(CALNDR)
    assert sorted(schemas) == ["schemas/coparent_invitation.json", "schemas/email_verification.json",
                               "schemas/schedule_digest.json"]
    assert generate_schemas(CALNDR) == schemas
    checked = 0
    validators = {}
    for path, text in schemas.items():
        assert text.endswith("}\n") and json.loads(text)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        schema = json.loads(text)
        jsonschema.Draft202012Validator.check_schema(schema)
        name = path.removeprefix("schemas/").removesuffix(".json")
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        validators[name] = validator
        for sample in _samples(name):
            errors = [e.message for e in validator.iter_errors(json.loads(sample.read_text(encoding="utf-8")))]
            assert errors == [], f"{sample}: {errors}"
            checked += 1
    assert checked >= 9  # every template has samples, some per locale

    default = json.loads((REPO / "templates_src/coparent_invitation/samples/default.json").read_text())

    def problems(name: str, data: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((e.json_path, e.validator) for e in validators[name].iter_errors(data))

    assert problems("coparent_invitation", {k: v for k, v in default.items() if k != "inviter_name"}) == [
        ("$", "required")]
    assert problems("coparent_invitation", {**default, "children": "Maya"}) == [("$.children", "type")]
    assert problems("coparent_invitation", {**default, "children": [{}]}) == [("$.children[0]", "required")]
    # Not http(s) (letterhead's check of a url), nor the declared ^https://
    assert problems("coparent_invitation", {**default, "accept_url": "ftp://x"}) == [("$.accept_url", "pattern")] * 2
    assert problems("coparent_invitation", {**default, "accept_url": "http://x"}) == [("$.accept_url", "pattern")]
    assert problems("coparent_invitation", {**default, "inviter_email": "not an address"}) == [
        ("$.inviter_email", "format")]
    assert problems("coparent_invitation", {**default, "note": None, "extra": 1}) == []  # optional: null; extras ok
    verification = {"code": "012345", "email": "a@example.com", "expires_at": "14:32 UTC"}
    assert problems("email_verification", verification) == []
    assert problems("email_verification", {**verification, "code": 12345}) == [("$.code", "type")]
    assert problems("email_verification", {**verification, "code": "12345"}) == [("$.code", "pattern")]
    digest = json.loads((REPO / "templates_src/schedule_digest/samples/busy_week.json").read_text())
    assert problems("schedule_digest", {**digest, "event_count": "3"}) == [("$.event_count", "type")]
    assert problems("schedule_digest", {**digest, "calendar_url": "https://calndr.club/"}) == [
        ("$.calendar_url", "pattern")]  # the declared pattern (no trailing slash), after the URL's own
    assert problems("schedule_digest", {**digest, "days": [{"label": "Mon", "date": "x", "events": [{}]}]}) == [
        ("$.days[0].events[0]", "required")] * 2  # time and title
    # The List-Unsubscribe header prints the token: required, with its declared pattern.
    assert problems("schedule_digest", {k: v for k, v in digest.items() if k != "unsubscribe_token"}) == [
        ("$", "required")]
    assert problems("schedule_digest", {**digest, "unsubscribe_token": "a b"}) == [("$.unsubscribe_token", "pattern")]


# --- the command ---------------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "app"
version = "0"

[tool.letterhead]
ses_dir = "ses_templates"
{extra}
"""


def project(tmp_path: Path, extra: str = 'types_module = "app/email_types.py"', built: bool = True) -> Path:
    root = tmp_path / "proj"
    (root / "ses_templates").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(extra=extra), encoding="utf-8")
    if built:
        (root / "ses_templates" / "manifest.json").write_bytes((REPO / "ses_templates/manifest.json").read_bytes())
    return root


def invoke(*args: str) -> Any:
    return CliRunner().invoke(types, list(args), catch_exceptions=False)


def test_types_writes_the_configured_module_once(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = invoke("--root", str(root))
    assert result.exit_code == 0, result.output
    assert result.output == ("wrote app/email_types.py: 3 templates (CoparentInvitationData, "
                             "EmailVerificationData, ScheduleDigestData)\n")
    path = root / "app/email_types.py"
    assert path.read_text(encoding="utf-8") == generate_module(CALNDR)
    mtime = path.stat().st_mtime_ns
    again = invoke("--root", str(root))
    assert again.exit_code == 0 and again.output.startswith("unchanged: app/email_types.py: 3 templates")
    assert path.stat().st_mtime_ns == mtime

    assert invoke("--root", str(root), "--check").exit_code == 0
    path.write_text(path.read_text(encoding="utf-8").replace("accept_url: str", "accept_url: int"), encoding="utf-8")
    stale = invoke("--root", str(root), "--check")
    assert stale.exit_code == 2
    assert "app/email_types.py is out of date" in stale.output and "run `letterhead types`" in stale.output
    assert "accept_url: int" in path.read_text(encoding="utf-8")  # --check writes nothing
    path.unlink()
    missing = invoke("--root", str(root), "--check", "--json")
    assert missing.exit_code == 2 and json.loads(missing.output)["ok"] is False
    assert not path.exists()


def test_types_out_overrides_and_json_says_what_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    monkeypatch.chdir(root)
    result = invoke("--out", "lib/typed_mail.py", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "ok": True, "path": "lib/typed_mail.py", "changed": True, "check": False,
        "templates": {"coparent_invitation": "CoparentInvitationData", "email_verification": "EmailVerificationData",
                      "schedule_digest": "ScheduleDigestData"},
    }
    assert (root / "lib/typed_mail.py").read_text(encoding="utf-8") == generate_module(CALNDR)
    assert not (root / "app").exists()


def test_types_without_a_path_or_a_build_says_what_to_do(tmp_path: Path) -> None:
    no_path = invoke("--root", str(project(tmp_path / "a", extra="")))
    assert no_path.exit_code == 1
    assert "no path for the types module" in no_path.output and 'types_module = "app/email_types.py"' in no_path.output
    unbuilt = invoke("--root", str(project(tmp_path / "b", built=False)))
    assert unbuilt.exit_code == 1
    assert "no built templates" in unbuilt.output and "run `letterhead build` first" in unbuilt.output


def test_the_build_writes_the_schemas_and_the_types_module_and_check_notices_a_stale_one(tmp_path: Path) -> None:
    import shutil

    from letterhead.cli import cli

    from .helpers import make_project

    root = make_project(tmp_path)
    py = root / "pyproject.toml"
    py.write_text(py.read_text() + 'types_module = "app/email_types.py"\n')
    (root / "app").mkdir()
    runner = CliRunner()
    built = runner.invoke(cli, ["--root", str(root), "build"])
    assert built.exit_code == 0, built.output
    assert json.loads((root / "ses_templates/schemas/welcome.json").read_text())["required"] == ["name", "url"]
    module = root / "app/email_types.py"
    assert "class WelcomeData(TypedDict" in module.read_text()
    assert runner.invoke(cli, ["--root", str(root), "build", "--check"]).exit_code == 0

    module.write_text(module.read_text() + "# edited by hand\n")
    stale = runner.invoke(cli, ["--root", str(root), "build", "--check"])
    assert stale.exit_code == 2 and "app/email_types.py" in stale.output

    shutil.copytree(root / "templates_src/welcome", root / "templates_src/welcome_back")
    assert runner.invoke(cli, ["--root", str(root), "build"]).exit_code == 0
    assert (root / "ses_templates/schemas/welcome_back.json").is_file()
    shutil.rmtree(root / "templates_src/welcome_back")  # a template removed: its schema goes with it
    assert runner.invoke(cli, ["--root", str(root), "build"]).exit_code == 0
    assert sorted(p.name for p in (root / "ses_templates/schemas").iterdir()) == ["welcome.json"]
