"""plan.py: namespaces and the pure diff of local payloads against SES."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from letterhead.authoring.payload import SesTemplate
from letterhead.deploy.naming import Namespace
from letterhead.deploy.plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    make_plan,
    names_to_fetch,
)
from letterhead.deploy.template_store import RemoteTemplate

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def tpl(name: str, body: str = "Hello {{{name}}}", subject: str = "Hi {{{name}}}") -> SesTemplate:
    return SesTemplate(name, subject, f"<p>{body}</p>", body)


def listed(*names: str, created: dict[str, int] | None = None) -> list[RemoteTemplate]:
    created = created or {}
    return [RemoteTemplate(n, T0 + timedelta(minutes=created.get(n, 0))) for n in names]


# -- namespaces ---------------------------------------------------------------------


def test_deployed_names_stable_and_versioned() -> None:
    t = tpl("welcome")
    assert Namespace().deployed_name("welcome", t.content_hash) == "welcome"
    assert Namespace(prefix="stg-", suffix="_x").deployed_name("welcome", t.content_hash) == "stg-welcome_x"
    v = Namespace(prefix="stg-", versioned=True).deployed_name("welcome", t.content_hash)
    assert v == f"stg-welcome-v{t.content_hash[:10]}"
    # Equal content, equal name; other content, other name.
    assert Namespace(versioned=True).deployed_name("welcome", tpl("welcome").content_hash) == \
        Namespace(versioned=True).deployed_name("welcome", t.content_hash)
    assert Namespace(versioned=True).deployed_name("welcome", tpl("welcome", "Bye").content_hash) != \
        Namespace(versioned=True).deployed_name("welcome", t.content_hash)


def test_parse_claims_only_names_of_its_own_namespace_and_mode() -> None:
    stable = Namespace(prefix="stg-")
    assert stable.parse("stg-welcome") == ("welcome", None)
    assert stable.parse("welcome") is None  # no prefix
    assert stable.parse("stg-") is None  # nothing after it
    assert stable.parse("prod-welcome") is None
    assert stable.parse("stg-welcome-v0123456789") is None  # a versioned name is not a stable one
    versioned = Namespace(prefix="stg-", versioned=True)
    assert versioned.parse("stg-welcome-v0123456789") == ("welcome", "0123456789")
    assert versioned.parse("stg-welcome") is None
    assert versioned.parse("stg-welcome-vXYZ") is None
    suffixed = Namespace(suffix="-prod")
    assert suffixed.parse("welcome-prod") == ("welcome", None)
    assert suffixed.parse("welcome-staging") is None


def test_a_more_specific_env_namespace_is_never_claimed() -> None:
    app = Namespace(prefix="app-", excluded=(("app-stg-", ""),))
    assert app.parse("app-welcome") == ("welcome", None)
    assert app.parse("app-stg-welcome") is None


def test_namespace_problems() -> None:
    assert Namespace(prefix="stg-").problems() == []
    assert "prefix" in Namespace(prefix="stg.").problems()[0]
    assert "keep" in Namespace(keep=0).problems()[0]


# -- plans ----------------------------------------------------------------------------


def test_create_update_unchanged_with_a_diff_of_the_changed_part() -> None:
    local = {"a": tpl("a"), "b": tpl("b", "New body"), "c": tpl("c")}
    ns = Namespace(prefix="stg-")
    remote = listed("stg-b", "stg-c")
    assert names_to_fetch(local, ns, remote) == ["stg-b", "stg-c"]
    fetched = {"stg-b": tpl("stg-b", "Old body"), "stg-c": tpl("stg-c")}
    plan = make_plan(local, ns, remote, fetched)
    assert [(a.logical, a.deployed, a.action) for a in plan.actions] == [
        ("a", "stg-a", CREATE), ("b", "stg-b", UPDATE), ("c", "stg-c", UNCHANGED)]
    diff = plan.of(UPDATE)[0].diff
    assert "--- ses:stg-b HtmlPart" in diff and "+++ ses_templates/b.json HtmlPart" in diff
    assert "-<p>Old body</p>" in diff and "+<p>New body</p>" in diff
    assert "-Old body" in diff and "TextPart" in diff
    assert "SubjectPart" not in diff  # unchanged parts are not in the diff
    assert plan.counts() == {CREATE: 1, UPDATE: 1, UNCHANGED: 1, DELETE: 0}
    assert [a.deployed for a in plan.drift()] == ["stg-a", "stg-b"]
    assert plan.deployed == {"a": "stg-a", "b": "stg-b", "c": "stg-c"}


def test_a_missing_text_part_on_the_remote_equals_an_empty_one() -> None:
    local = {"a": SesTemplate("a", "S", "<p>h</p>", "")}
    plan = make_plan(local, Namespace(), listed("a"), {"a": SesTemplate("a", "S", "<p>h</p>", "")})
    assert plan.actions[0].action == UNCHANGED


def test_diff_of_minified_html_points_at_the_changed_tag() -> None:
    cells = "".join(f"<td>cell {i}</td>" for i in range(100))
    old = SesTemplate("a", "S", f"<table><tr>{cells}</tr></table>", "t")
    new = SesTemplate("a", "S", f"<table><tr>{cells.replace('cell 42', 'CELL 42')}</tr></table>", "t")
    plan = make_plan({"a": new}, Namespace(), listed("a"), {"a": old})
    diff_lines = plan.actions[0].diff.splitlines()
    assert "-<td>cell 42</td>" in diff_lines and "+<td>CELL 42</td>" in diff_lines
    assert max(len(line) for line in diff_lines) < 200


def test_stable_plan_without_the_content_of_an_existing_template_is_a_bug() -> None:
    with pytest.raises(ValueError):
        make_plan({"a": tpl("a")}, Namespace(), listed("a"), {})


def test_delete_candidates_only_inside_the_prefix() -> None:
    local = {"a": tpl("a")}
    ns = Namespace(prefix="stg-")
    remote = listed("stg-a", "stg-gone", "prod-gone", "gone", "stg-bad.name", "stg-x-v0123456789")
    plan = make_plan(local, ns, remote, {"stg-a": tpl("stg-a")})
    assert [(a.deployed, a.reason) for a in plan.delete_candidates] == [("stg-gone", "not in ses_templates/")]
    assert plan.drift() == ()
    assert [a.deployed for a in plan.drift(include_prune=True)] == ["stg-gone"]


def test_without_prefix_nothing_is_a_delete_candidate() -> None:
    plan = make_plan({"a": tpl("a")}, Namespace(), listed("a", "someone_elses"), {"a": tpl("a")})
    assert plan.delete_candidates == ()
    assert plan.prune_note and "prefix" in plan.prune_note


def test_versioned_existence_is_up_to_date_and_needs_no_get() -> None:
    local = {"a": tpl("a"), "b": tpl("b")}
    ns = Namespace(prefix="p-", versioned=True)
    a_name = ns.deployed_name("a", local["a"].content_hash)
    remote = listed(a_name)
    assert names_to_fetch(local, ns, remote) == []
    plan = make_plan(local, ns, remote)
    assert {(a.logical, a.action) for a in plan.actions} == {("a", UNCHANGED), ("b", CREATE)}


def test_versioned_prune_keeps_the_newest_k_and_never_the_current() -> None:
    ns = Namespace(prefix="p-", versioned=True, keep=3)
    local = {"a": tpl("a")}
    current = ns.deployed_name("a", local["a"].content_hash)
    olds = [f"p-a-v{i:010x}" for i in range(5)]  # created at minutes 0..4
    created = {n: i for i, n in enumerate(olds)}
    # The current version is the OLDEST (a rollback): it is kept all the same.
    created[current] = -10
    plan = make_plan(local, ns, listed(current, *olds, created=created))
    deleted = sorted(a.deployed for a in plan.delete_candidates)
    # Kept: current + the 2 newest others (minutes 4 and 3).
    assert deleted == sorted(olds[:3])
    assert current not in deleted
    assert all("newest 3" in a.reason for a in plan.delete_candidates)


def test_versioned_prune_when_the_current_version_is_new() -> None:
    ns = Namespace(prefix="p-", versioned=True, keep=2)
    local = {"a": tpl("a")}
    olds = [f"p-a-v{i:010x}" for i in range(3)]
    plan = make_plan(local, ns, listed(*olds, created={n: i for i, n in enumerate(olds)}))
    assert plan.of(CREATE)[0].logical == "a"
    assert [a.deployed for a in plan.delete_candidates] == olds[:2]


def test_versioned_removed_template_loses_all_versions_and_stable_names_are_left_alone() -> None:
    ns = Namespace(prefix="p-", versioned=True)
    local = {"a": tpl("a")}
    cur = ns.deployed_name("a", local["a"].content_hash)
    plan = make_plan(local, ns, listed(cur, "p-gone-v0000000001", "p-gone-v0000000002", "p-a", "p-gone"))
    assert sorted(a.deployed for a in plan.delete_candidates) == ["p-gone-v0000000001", "p-gone-v0000000002"]


def test_plan_to_dict() -> None:
    plan = make_plan({"a": tpl("a")}, Namespace(env="staging", prefix="stg-"), listed())
    d = plan.to_dict()
    assert d["namespace"] == {"env": "staging", "prefix": "stg-", "suffix": "", "mode": "stable", "keep": None}
    assert d["summary"][CREATE] == 1 and d["deployed_names"] == {"a": "stg-a"}
