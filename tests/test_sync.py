"""``letterhead sync`` / ``python sync.py``: behaviour end to end.

Three kinds of SES stand in: moto in-process (``mock_aws``), moto's
``ThreadedMotoServer`` over real HTTP (for subprocesses and the AWS CLI), and
a small fault proxy in front of that server (throttling, failures mid-run,
AccessDenied).  Real SES's TestRenderTemplate is played by botocore's Stubber.
Fixtures write ``ses_templates/`` directly from ``SesTemplate``/``Manifest``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.stub import ANY, Stubber
from click.testing import CliRunner

from letterhead.authoring.payload import Manifest, ManifestEntry, SesTemplate
from letterhead.authoring.safety import HTML_DATA_KEY, prepare_data
from letterhead.cli.sync import sync as sync_command
from letterhead.config import load_config
from letterhead.deploy.naming import deployed_names, load_settings, namespace_for
from letterhead.deploy.sync import sync
from letterhead.deploy.template_store import TemplateStore, retry_config
from letterhead.errors import (
    DriftError,
    NamespaceError,
    PruneRefused,
    SyncFailed,
    SyncInputError,
    VerifyFailed,
)

from .helpers import REPO

pytestmark = pytest.mark.aws

REGION = "us-east-1"
PYPROJECT = """\
[tool.letterhead.sync]
rate = 1000
max_attempts = 3

[tool.letterhead.env.staging]
prefix = "stg-"

[tool.letterhead.env.production]
prefix = "prod-"
versioned = true
keep = 2
"""
BIN = Path(sys.executable).parent


# -- fixtures ------------------------------------------------------------------------------


def tpl(name: str, body: str = "Hello {{{name}}}", subject: str = "Hi {{{name}}}") -> SesTemplate:
    html = "{{#with _html}}<p>" + body + "</p>{{else}}{{letterhead_html_data_missing}}{{/with}}"
    return SesTemplate(name, subject, html, body)


def write_ses(root: Path, *templates: SesTemplate, samples: dict[str, dict[str, Any]] | None = None) -> None:
    """ses_templates/ as a build writes it; ``samples`` (name → data) go to templates_src/."""
    ses = root / "ses_templates"
    ses.mkdir(parents=True, exist_ok=True)
    for p in ses.glob("*.json"):
        p.unlink()
    entries = {}
    for t in templates:
        (ses / f"{t.name}.json").write_text(t.dumps(), encoding="utf-8")
        names: tuple[str, ...] = ()
        if samples and t.name in samples:
            folder = root / "templates_src" / t.name / "samples"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "default.json").write_text(json.dumps(samples[t.name]), encoding="utf-8")
            names = ("default",)
        entries[t.name] = ManifestEntry(t.name, t.content_hash, "src", samples=names, size_bytes=t.size_bytes)
    (ses / "manifest.json").write_text(Manifest(entries).dumps(), encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "project"
    r.mkdir()
    (r / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    write_ses(r, tpl("welcome"), tpl("reset_password", "Reset here"), tpl("digest", "Your week"))
    return r


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for var in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SES",
                "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def ses(moto: None) -> Any:
    """moto in-process; a client to look at what SES holds."""
    return boto3.client("ses", region_name=REGION)


def run(root: Path, env: str | None = None, store: TemplateStore | None = None, **kw: Any):
    config = load_config(root)
    settings = load_settings(config, env, **{k: kw.pop(k) for k in ("versioned", "keep") if k in kw})
    return sync(config, settings, store=store, **kw)


def remote(client: Any) -> dict[str, SesTemplate]:
    out = {}
    for m in client.list_templates()["TemplatesMetadata"]:
        t = client.get_template(TemplateName=m["Name"])["Template"]
        out[m["Name"]] = SesTemplate(m["Name"], t["SubjectPart"], t.get("HtmlPart", ""), t.get("TextPart", ""))
    return out


WRITES = ("CreateTemplate", "UpdateTemplate", "DeleteTemplate")


def writes(result: Any) -> dict[str, int]:
    return {op: n for op, n in result.calls.items() if op in WRITES}


# -- apply, converge, never rewrite -------------------------------------------------------------


def test_first_sync_creates_everything_and_a_second_makes_zero_writes(root: Path, ses: Any) -> None:
    first = run(root)
    assert writes(first) == {"CreateTemplate": 3}
    assert sorted(r.outcome for r in first.results) == ["applied"] * 3
    held = remote(ses)
    assert held["welcome"] == tpl("welcome") and set(held) == {"welcome", "reset_password", "digest"}
    second = run(root)
    assert writes(second) == {}
    assert [r.outcome for r in second.results] == ["unchanged"] * 3
    assert second.calls == {"ListTemplates": 1, "GetTemplate": 3}


def test_a_changed_template_is_updated_alone_with_its_diff(root: Path, ses: Any) -> None:
    run(root)
    write_ses(root, tpl("welcome", "Hello again {{{name}}}"), tpl("reset_password", "Reset here"),
              tpl("digest", "Your week"))
    result = run(root)
    assert writes(result) == {"UpdateTemplate": 1}
    (update,) = result.plan.of("update")
    assert update.deployed == "welcome"
    assert "-Hello {{{name}}}" in update.diff and "+Hello again {{{name}}}" in update.diff
    assert remote(ses)["welcome"] == tpl("welcome", "Hello again {{{name}}}")


def test_a_template_changed_by_hand_in_ses_is_put_back(root: Path, ses: Any) -> None:
    run(root)
    ses.update_template(Template={"TemplateName": "digest", "SubjectPart": "hacked", "HtmlPart": "x"})
    result = run(root)
    assert writes(result) == {"UpdateTemplate": 1}
    assert "-hacked" in result.plan.of("update")[0].diff
    assert remote(ses)["digest"] == tpl("digest", "Your week")


@pytest.mark.slow
def test_dry_run_and_check_write_nothing(root: Path, ses: Any) -> None:
    result = run(root, dry_run=True)
    assert writes(result) == {} and remote(ses) == {}
    assert [r.outcome for r in result.results] == ["planned"] * 3
    with pytest.raises(DriftError) as info:
        run(root, check=True)
    assert info.value.exit_code == 2 and "3 to create" in info.value.message
    assert remote(ses) == {}
    run(root)
    assert run(root, check=True).mode == "check"  # in sync: no error


# -- environments and the namespace -----------------------------------------------------------------


def test_env_prefix_maps_names_and_writes_the_deployed_file(root: Path, ses: Any) -> None:
    run(root, "staging")
    assert set(remote(ses)) == {"stg-welcome", "stg-reset_password", "stg-digest"}
    path = root / "ses_templates" / "deployed" / "staging.json"
    data = json.loads(path.read_text())
    assert data["templates"] == {"digest": "stg-digest", "reset_password": "stg-reset_password",
                                 "welcome": "stg-welcome"}
    assert data["env"] == "staging" and data["prefix"] == "stg-"
    config = load_config(root)
    assert deployed_names(config, "staging")["welcome"] == "stg-welcome"
    # The sending side can also compute names without the file.
    entry = Manifest.load(root / "ses_templates").templates["welcome"]
    assert namespace_for(config, "staging").deployed_name("welcome", entry.content_hash) == "stg-welcome"
    # Two environments side by side in one account.
    run(root)
    assert {"welcome", "stg-welcome"} <= set(remote(ses))


@pytest.mark.slow
def test_prune_deletes_only_names_of_its_own_namespace(root: Path, ses: Any) -> None:
    run(root, "staging")
    for name in ("stg-gone", "prod-gone", "gone", "other_app_mail", "stg-bad.name"):
        ses.create_template(Template={"TemplateName": name, "SubjectPart": "s", "HtmlPart": "h"})
    plan_only = run(root, "staging", dry_run=True)
    assert [a.deployed for a in plan_only.plan.delete_candidates] == ["stg-gone"]
    result = run(root, "staging", prune=True, yes=True)
    assert writes(result) == {"DeleteTemplate": 1}
    assert set(remote(ses)) == {"stg-welcome", "stg-reset_password", "stg-digest", "prod-gone", "gone",
                                "other_app_mail", "stg-bad.name"}


def test_prune_without_a_prefix_is_refused_before_any_call(root: Path, ses: Any) -> None:
    store = TemplateStore(ses, rate=1000)
    with pytest.raises(PruneRefused, match="prefix") as info:
        run(root, store=store, prune=True, yes=True)
    assert "[tool.letterhead.sync]" in info.value.hint
    assert store.total_calls == 0


@pytest.mark.slow
def test_prune_asks_first_and_a_no_applies_nothing(root: Path, ses: Any) -> None:
    run(root, "staging")
    ses.create_template(Template={"TemplateName": "stg-gone", "SubjectPart": "s", "HtmlPart": "h"})
    write_ses(root, tpl("welcome", "Changed"), tpl("reset_password", "Reset here"), tpl("digest", "Your week"))
    asked: list[list[str]] = []
    with pytest.raises(PruneRefused, match="not confirmed"):
        run(root, "staging", prune=True, confirm=lambda ds: asked.append([a.deployed for a in ds]) or False)
    assert asked == [["stg-gone"]]
    assert "stg-gone" in remote(ses) and remote(ses)["stg-welcome"] == tpl("stg-welcome")  # nothing applied
    with pytest.raises(PruneRefused, match="--yes"):
        run(root, "staging", prune=True)  # nobody to ask
    result = run(root, "staging", prune=True, confirm=lambda ds: True)
    assert writes(result) == {"UpdateTemplate": 1, "DeleteTemplate": 1}
    assert "stg-gone" not in remote(ses)


def test_prune_with_no_templates_in_the_repo_is_refused(root: Path, ses: Any) -> None:
    write_ses(root)
    with pytest.raises(PruneRefused, match="no templates"):
        run(root, "staging", prune=True, yes=True)


def test_unknown_env_and_bad_settings(root: Path) -> None:
    config = load_config(root)
    with pytest.raises(NamespaceError, match="unknown environment 'stagign'") as info:
        load_settings(config, "stagign")
    assert "did you mean 'staging'" in info.value.hint
    (root / "pyproject.toml").write_text(PYPROJECT + '\n[tool.letterhead.env.bad]\nprefix = "b."\nkep = 2\n')
    with pytest.raises(NamespaceError, match="unknown setting 'kep'") as info:
        load_settings(load_config(root), "bad")
    assert "did you mean 'keep'" in info.value.hint


@pytest.mark.parametrize("endpoint, configured, option, expected", [
    (None, None, None, 1.0),  # real SES: its limit
    ("https://email.eu-west-1.amazonaws.com", None, None, 1.0),
    ("http://127.0.0.1:8041", None, None, 1000.0),  # the local SES: nothing to wait for
    ("http://localhost:5000", None, None, 1000.0),
    ("http://127.0.0.1:8041", "rate = 2", None, 2.0),  # a configured rate still applies
    ("http://127.0.0.1:8041", None, 3.0, 3.0),  # and the option over everything
])
def test_the_default_rate_waits_only_for_real_ses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   endpoint: str | None, configured: str | None,
                                                   option: float | None, expected: float) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.letterhead.sync]\n" + (configured or "") + "\n")
    monkeypatch.delenv("AWS_ENDPOINT_URL_SES", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings = load_settings(load_config(tmp_path), None, rate=option, endpoint_url=endpoint)
    assert settings.rate == expected


def test_an_env_namespace_inside_another_is_not_pruned_by_it(tmp_path: Path, ses: Any) -> None:
    r = tmp_path / "p"
    r.mkdir()
    (r / "pyproject.toml").write_text('[tool.letterhead.sync]\nrate = 1000\nprefix = "app-"\n'
                                      '[tool.letterhead.env.stg]\nprefix = "app-stg-"\n')
    write_ses(r, tpl("welcome"))
    run(r, "stg")
    result = run(r, prune=True, yes=True)
    assert result.plan.delete_candidates == ()
    assert set(remote(ses)) == {"app-welcome", "app-stg-welcome"}


# -- versioned mode --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_versioned_mode_deploys_new_names_and_a_noop_needs_only_the_list(root: Path, ses: Any) -> None:
    first = run(root, "production")
    ns = first.plan.namespace
    names = {n: ns.deployed_name(n, t.content_hash) for n, t in
             {"welcome": tpl("welcome"), "digest": tpl("digest", "Your week")}.items()}
    assert names["welcome"].startswith("prod-welcome-v") and len(names["welcome"]) == len("prod-welcome-v") + 10
    assert names["welcome"] in remote(ses)
    noop = run(root, "production")
    assert noop.calls == {"ListTemplates": 1} and noop.total_calls <= 3
    # A change deploys a new name; the running version's template is not touched.
    old_welcome = remote(ses)[names["welcome"]]
    write_ses(root, tpl("welcome", "v2"), tpl("reset_password", "Reset here"), tpl("digest", "Your week"))
    second = run(root, "production")
    assert writes(second) == {"CreateTemplate": 1}
    assert remote(ses)[names["welcome"]] == old_welcome
    current = deployed_names(load_config(root), "production")["welcome"]
    assert current != names["welcome"] and current in remote(ses)


@pytest.mark.slow
def test_versioned_prune_keeps_the_last_k_and_the_current(root: Path, ses: Any) -> None:
    versions = []
    for body in ("v1", "v2", "v3", "v4"):
        write_ses(root, tpl("welcome", body))
        result = run(root, "production", prune=True, yes=True)  # keep = 2 in pyproject
        versions.append(result.plan.deployed["welcome"])
    held = {n for n in remote(ses) if n.startswith("prod-welcome-v")}
    assert held == set(versions[-2:])
    # Rolling back to v1 re-creates it as current; v4 (newest other) is kept, v3 goes.
    write_ses(root, tpl("welcome", "v1"))
    result = run(root, "production", prune=True, yes=True)
    assert [a.deployed for a in result.plan.delete_candidates] == [versions[2]]
    assert {n for n in remote(ses) if n.startswith("prod-welcome-v")} == {versions[0], versions[3]}


@pytest.mark.slow
def test_versioned_and_stable_names_never_prune_each_other(root: Path, ses: Any) -> None:
    run(root, "staging")  # stable: stg-welcome …
    run(root, "staging", versioned=True, prune=True, yes=True)
    assert {"stg-welcome", "stg-digest", "stg-reset_password"} <= set(remote(ses))
    result = run(root, "staging", prune=True, yes=True)  # stable again
    assert result.plan.delete_candidates == ()


# -- bad input stops everything before the first call ------------------------------------------------------


def _corrupt(root: Path, case: str) -> str:
    ses = root / "ses_templates"
    if case == "not_json":
        (ses / "welcome.json").write_text('{"Template": {', encoding="utf-8")
        return "not valid JSON"
    if case == "wrong_shape":
        (ses / "welcome.json").write_text('{"TemplateName": "welcome"}', encoding="utf-8")
        return "not an SES CreateTemplate payload"
    if case == "name_mismatch":
        (ses / "welcome.json").write_text(tpl("welcome2").dumps(), encoding="utf-8")
        return "does not match the file name"
    if case == "edited_by_hand":
        (ses / "welcome.json").write_text(tpl("welcome", "sneaky").dumps(), encoding="utf-8")
        return "content_hash"
    if case == "missing_file":
        (ses / "welcome.json").unlink()
        return "is missing"
    if case == "not_in_manifest":
        (ses / "extra.json").write_text(tpl("extra").dumps(), encoding="utf-8")
        return "not in manifest.json"
    if case == "too_big":
        write_ses(root, tpl("welcome", "x" * 600_000))
        return "500 KB"
    if case == "empty_subject":
        write_ses(root, tpl("welcome", subject=" "))
        return "SubjectPart is empty"
    if case == "bad_name":
        write_ses(root, tpl("welcome email"))
        return "not a valid SES template name"
    if case == "deployed_name_too_long":
        write_ses(root, tpl("w" * 62))  # fine alone, 66 characters with "stg-"
        return "deployed name"
    if case == "manifest_broken":
        (ses / "manifest.json").write_text("[1, 2]", encoding="utf-8")
        return "manifest"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["not_json", "wrong_shape", "name_mismatch", "edited_by_hand", "missing_file",
                                  "not_in_manifest", "too_big", "empty_subject", "bad_name",
                                  "deployed_name_too_long", "manifest_broken"])
def test_one_bad_file_stops_the_run_before_any_call(root: Path, ses: Any, case: str) -> None:
    words = _corrupt(root, case)
    store = TemplateStore(ses, rate=1000)
    with pytest.raises(SyncInputError) as info:
        run(root, "staging", store=store)
    assert words in str(info.value)
    assert "ses_templates/" in str(info.value)  # names the file
    assert store.total_calls == 0 and remote(ses) == {}


def test_every_problem_is_listed_at_once(root: Path, ses: Any) -> None:
    _corrupt(root, "not_json")
    (root / "ses_templates" / "digest.json").write_text(tpl("digest", "changed").dumps(), encoding="utf-8")
    with pytest.raises(SyncInputError) as info:
        run(root)
    assert len(info.value.errors) == 2 and "2 problems" in str(info.value)


# -- verify ------------------------------------------------------------------------------------------


def test_verify_against_moto_says_what_it_could_not_check(root: Path, ses: Any) -> None:
    write_ses(root, tpl("welcome"), samples={"welcome": {"name": "Ann"}})
    result = run(root, verify=True)
    assert [v.status for v in result.verify] == ["not-verified"]
    assert "moto" in result.verify[0].reason
    assert result.calls.get("TestRenderTemplate", 0) == 0
    assert result.to_dict()["verified"] == {"verified": 0, "failed": 0, "not-verified": 1}


def _stubbed(root: Path, render_errors: dict[str, str]) -> tuple[Any, Any]:
    """A client that plays real SES for a sync of every template in ``root``."""
    client = boto3.client("ses", region_name=REGION, config=retry_config(1))
    stub = Stubber(client)
    manifest = Manifest.load(root / "ses_templates")
    stub.add_response("list_templates", {"TemplatesMetadata": []}, {"MaxItems": 100})
    for name in sorted(manifest.templates):
        stub.add_response("create_template", {}, {"Template": ANY})
    for name in sorted(manifest.templates):
        sample = json.loads((root / "templates_src" / name / "samples" / "default.json").read_text())
        params = {"TemplateName": name, "TemplateData": json.dumps(prepare_data(sample), ensure_ascii=False)}
        if name in render_errors:
            stub.add_client_error("test_render_template", "MissingRenderingAttribute", render_errors[name],
                                  400, expected_params=params)
        else:
            stub.add_response("test_render_template", {"RenderedTemplate": "Subject: ok"}, params)
    return client, stub


def test_verify_with_ses_reports_ses_rendering_errors(root: Path) -> None:
    write_ses(root, tpl("welcome"), tpl("digest"), samples={"welcome": {"name": "<b>Ann</b>"}, "digest": {}})
    client, stub = _stubbed(root, {"digest": "Attribute 'name' is not present in the rendering data."})
    with stub, pytest.raises(VerifyFailed) as info:
        run(root, store=TemplateStore(client, rate=1000), verify=True)
    stub.assert_no_pending_responses()  # the data sent was prepare_data(sample): the `_html` copy included
    err = info.value
    assert "digest (default)" in err.message
    reports = {r.logical: r for r in err.result.verify}
    assert reports["welcome"].status == "verified"
    assert reports["digest"].status == "failed" and "not present" in reports["digest"].samples[0].message
    assert err.to_dict()["applied"] == ["digest", "welcome"]  # the templates themselves were applied


def test_verify_with_ses_passes_and_html_data_is_escaped(root: Path) -> None:
    write_ses(root, tpl("welcome"), samples={"welcome": {"name": "<b>Ann</b>"}})
    client, stub = _stubbed(root, {})
    with stub:
        result = run(root, store=TemplateStore(client, rate=1000), verify=True)
    assert result.verify[0].status == "verified"
    assert prepare_data({"name": "<b>Ann</b>"})[HTML_DATA_KEY]["name"] == "&lt;b&gt;Ann&lt;/b&gt;"


def test_verify_without_samples_is_not_verified(root: Path) -> None:
    client = boto3.client("ses", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("list_templates", {"TemplatesMetadata": []}, {"MaxItems": 100})
    for _ in range(3):
        stub.add_response("create_template", {}, {"Template": ANY})
    with stub:
        result = run(root, store=TemplateStore(client, rate=1000), verify=True)
    assert {v.status for v in result.verify} == {"not-verified"}
    assert "no samples" in result.verify[0].reason


# -- the command line, in process --------------------------------------------------------------------


def invoke(root: Path, *args: str) -> Any:
    return CliRunner().invoke(sync_command, ["--root", str(root), *args], obj=None)


def test_cli_json_has_each_templates_action_and_outcome(root: Path, ses: Any) -> None:
    r = invoke(root, "--env", "staging", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["mode"] == "apply"
    assert {(t["deployed"], t["action"], t["outcome"]) for t in out["templates"]} == {
        ("stg-digest", "create", "applied"), ("stg-reset_password", "create", "applied"),
        ("stg-welcome", "create", "applied")}
    assert out["deployed_file"] == "ses_templates/deployed/staging.json"
    again = json.loads(invoke(root, "--env", "staging", "--json").stdout)
    assert {t["outcome"] for t in again["templates"]} == {"unchanged"}
    assert again["calls"] == {"GetTemplate": 3, "ListTemplates": 1}


def test_cli_prints_a_table_and_the_diff_before_applying(root: Path, ses: Any) -> None:
    invoke(root)
    write_ses(root, tpl("welcome", "Hello again"), tpl("digest", "Your week"), tpl("new_one"))
    r = invoke(root, "--dry-run")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "+ create" in out and "new_one" in out
    assert "~ update" in out and "+++ ses_templates/welcome.json HtmlPart" in out
    assert any(line.startswith("+") and "<p>Hello again</p>" in line for line in out.splitlines())
    assert any(line.startswith("-") and "<p>Hello {{{name}}}</p>" in line for line in out.splitlines())
    assert "1 unchanged" in out and "dry run: nothing applied" in out
    assert "reset_password" not in out  # not ours to delete: no prefix, no candidates


@pytest.mark.slow
def test_cli_check_exit_codes(root: Path, ses: Any) -> None:
    r = invoke(root, "--check", "--json")
    assert r.exit_code == 2
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["error"] == "DriftError"
    assert {t["action"] for t in out["templates"]} == {"create"}
    assert invoke(root).exit_code == 0
    r = invoke(root, "--check")
    assert r.exit_code == 0 and "in sync" in r.stdout
    ses.create_template(Template={"TemplateName": "stg-extra", "SubjectPart": "s", "HtmlPart": "h"})
    invoke(root, "--env", "staging")
    assert invoke(root, "--env", "staging", "--check").exit_code == 0
    assert invoke(root, "--env", "staging", "--check", "--prune").exit_code == 2  # stg-extra


def test_cli_prune_when_not_a_terminal_needs_yes(root: Path, ses: Any) -> None:
    invoke(root, "--env", "staging")
    ses.create_template(Template={"TemplateName": "stg-old", "SubjectPart": "s", "HtmlPart": "h"})
    r = invoke(root, "--env", "staging", "--prune")
    assert r.exit_code == 1 and "--yes" in r.output and "stg-old" in remote(ses)
    r = invoke(root, "--env", "staging", "--prune", "--yes")
    assert r.exit_code == 0 and "1 deleted" in r.stdout and "stg-old" not in remote(ses)


def test_cli_under_the_letterhead_group(root: Path, ses: Any) -> None:
    """As the lead registers it: `letterhead --root R sync …`."""
    from letterhead.cli.main import cli

    added = "sync" not in cli.commands
    if added:
        cli.add_command(sync_command)
    try:
        r = CliRunner().invoke(cli, ["--root", str(root), "sync", "--env", "staging", "--json"])
    finally:
        if added:
            cli.commands.pop("sync")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["applied"] == ["stg-digest", "stg-reset_password", "stg-welcome"]


@pytest.mark.parametrize("env,args,words", [
    ({"AWS_REGION": "eu-wset-1"}, [], ["unknown AWS region 'eu-wset-1'", "did you mean 'eu-west-1'"]),
    ({}, ["--env", "prodution"], ["unknown environment 'prodution'", "did you mean 'production'"]),
])
def test_cli_errors_are_one_line_and_a_fix(root: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                           args: list[str], words: list[str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    r = invoke(root, *args)
    assert r.exit_code == 1
    assert r.output.startswith("ERROR ") and "fix:" in r.output and "Traceback" not in r.output
    for w in words:
        assert w in r.output


# -- over real HTTP: moto's server, subprocesses, the AWS CLI, faults ------------------------------------


def server_client(url: str) -> Any:
    return boto3.client("ses", region_name=REGION, endpoint_url=url)


def proc_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def sync_py(root: Path, *args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "sync.py"), "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120, env=env or proc_env(), **kw)


def letterhead_sync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "letterhead"), "--root", str(root), "sync", *args],
                          capture_output=True, text=True, timeout=120, env=proc_env())


def _sync_registered() -> bool:
    import click

    from letterhead.cli.main import cli

    return cli.get_command(click.Context(cli), "sync") is not None


def test_sync_py_and_letterhead_sync_are_the_same_command(root: Path, moto_url: str) -> None:
    first = sync_py(root, "--endpoint-url", moto_url, "--env", "staging", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["applied"] == ["stg-digest", "stg-reset_password", "stg-welcome"]
    assert set(remote(server_client(moto_url))) == {"stg-digest", "stg-reset_password", "stg-welcome"}
    via_py = sync_py(root, "--endpoint-url", moto_url, "--env", "staging", "--json", "--dry-run")
    help_py = sync_py(root, "--help")
    assert "--dry-run" in help_py.stdout and "--prune" in help_py.stdout
    assert _sync_registered(), "`letterhead sync` must be a command of the letterhead CLI"
    via_cli = letterhead_sync(root, "--endpoint-url", moto_url, "--env", "staging", "--json", "--dry-run")
    assert via_cli.returncode == via_py.returncode == 0
    assert json.loads(via_cli.stdout) == json.loads(via_py.stdout)


def test_endpoint_from_the_environment_variable(root: Path, moto_url: str) -> None:
    r = sync_py(root, env=proc_env(AWS_ENDPOINT_URL_SES=moto_url))
    assert r.returncode == 0, r.stderr
    assert "synced: 3 created" in r.stdout
    assert len(remote(server_client(moto_url))) == 3


def test_the_aws_cli_sees_exactly_what_letterhead_wrote(root: Path, moto_url: str) -> None:
    aws = BIN / "aws"
    assert aws.exists(), "awscli is part of the test extra: pip install -e '.[test]'"
    write_ses(root, tpl("welcome", 'Héllo "{{{name}}}" & <b>friends</b>'), tpl("digest", "Your week"))
    assert sync_py(root, "--endpoint-url", moto_url, "--env", "staging").returncode == 0

    def cli(*args: str) -> Any:
        r = subprocess.run([str(aws), "ses", *args, "--endpoint-url", moto_url, "--region", REGION,
                            "--output", "json"], capture_output=True, text=True, timeout=120, env=proc_env())
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    listed = sorted(m["Name"] for m in cli("list-templates")["TemplatesMetadata"])
    assert listed == ["stg-digest", "stg-welcome"]
    for logical in ("welcome", "digest"):
        got = cli("get-template", "--template-name", f"stg-{logical}")["Template"]
        local = SesTemplate.load(root / "ses_templates" / f"{logical}.json")
        assert (got["SubjectPart"], got["HtmlPart"], got["TextPart"]) == (local.subject, local.html, local.text)


def test_a_built_payload_is_accepted_unchanged_by_aws_create_template(moto_url: str, tmp_path: Path) -> None:
    """ses_templates/<name>.json is exactly CreateTemplate's input: the AWS CLI
    takes the repository's committed file as it is."""
    repo_ses = Path(__file__).resolve().parent.parent / "ses_templates"
    aws = BIN / "aws"
    for payload in sorted(repo_ses.glob("*.json")):
        if payload.name == "manifest.json":
            continue
        r = subprocess.run([str(aws), "ses", "create-template", "--cli-input-json", f"file://{payload}",
                            "--endpoint-url", moto_url, "--region", REGION], capture_output=True, text=True,
                           timeout=120, env=proc_env())
        assert r.returncode == 0, r.stderr
        local = SesTemplate.load(payload)
        got = server_client(moto_url).get_template(TemplateName=local.name)["Template"]
        assert (got["SubjectPart"], got["HtmlPart"], got["TextPart"]) == (local.subject, local.html, local.text)


class FaultProxy:
    """An HTTP proxy in front of moto's server; ``decide(action, body)``
    returns None to forward or ``(status, code)`` to answer an error."""

    def __init__(self, upstream: str, decide: Callable[[str, dict[str, Any]], tuple[int, str] | None]) -> None:
        self.decide = decide
        self.seen: list[str] = []
        up = urllib.parse.urlparse(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                action = form.get("Action", "?")
                proxy.seen.append(action)
                verdict = proxy.decide(action, form)
                if verdict is not None:
                    status, code = verdict
                    data = (f'<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error>'
                            f"<Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error>"
                            f"<RequestId>x</RequestId></ErrorResponse>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                else:
                    conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                    conn.request("POST", self.path, body=body,
                                 headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    self.send_header("Content-Type", resp.getheader("Content-Type") or "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(moto_url: str) -> Iterator[Callable[..., FaultProxy]]:
    made: list[FaultProxy] = []

    def make(decide: Callable[[str, dict[str, Any]], tuple[int, str] | None]) -> FaultProxy:
        made.append(FaultProxy(moto_url, decide))
        return made[-1]

    yield make
    for p in made:
        p.close()


def test_injected_throttling_ends_in_success_with_nothing_lost(root: Path, moto_url: str, proxy: Any) -> None:
    calls = {"n": 0}

    def every_third(action: str, form: dict[str, Any]) -> tuple[int, str] | None:
        calls["n"] += 1
        return (400, "Throttling") if calls["n"] % 3 == 0 else None

    p = proxy(every_third)
    r = sync_py(root, "--endpoint-url", p.url, "--env", "staging", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["throttled"] >= 1 and "Traceback" not in r.stderr
    held = remote(server_client(moto_url))
    assert held == {f"stg-{n}": t.renamed(f"stg-{n}") for n, t in
                    (("welcome", tpl("welcome")), ("reset_password", tpl("reset_password", "Reset here")),
                     ("digest", tpl("digest", "Your week")))}


@pytest.mark.slow
def test_a_failure_mid_run_says_what_was_applied_and_a_rerun_converges(root: Path, moto_url: str,
                                                                       proxy: Any) -> None:
    state = {"creates": 0, "broken": True}

    def breaks_after_one_create(action: str, form: dict[str, Any]) -> tuple[int, str] | None:
        if action == "CreateTemplate":
            if state["creates"] >= 1 and state["broken"]:
                return (503, "ServiceUnavailable")
            state["creates"] += 1
        return None

    p = proxy(breaks_after_one_create)
    r = sync_py(root, "--endpoint-url", p.url, "--max-attempts", "2")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    err = r.stderr
    assert "ERROR SES failed on CreateTemplate reset_password (HTTP 503, ServiceUnavailable)" in err
    assert "applied (1):" in err and "create           digest" in err
    assert "not applied (2):" in err and "reset_password  ← failed" in err and "welcome" in err
    assert "rerun" in err
    r = sync_py(root, "--endpoint-url", p.url, "--max-attempts", "2", "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["applied"] == [] and out["not_applied"] == ["reset_password", "welcome"]
    state["broken"] = False
    r = sync_py(root, "--endpoint-url", p.url, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["applied"] == ["reset_password", "welcome"]
    r = sync_py(root, "--endpoint-url", p.url, "--json")
    assert json.loads(r.stdout)["calls"] == {"GetTemplate": 3, "ListTemplates": 1}  # zero writes


def test_access_denied_is_one_line_with_the_fix(root: Path, proxy: Any) -> None:
    p = proxy(lambda action, form: (403, "AccessDenied"))
    r = sync_py(root, "--endpoint-url", p.url)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("ERROR AWS denied ListTemplates: injected AccessDenied")
    assert lines[1].startswith("  fix: allow ses:ListTemplates") and len(lines) == 2


def test_no_credentials_and_unreachable_endpoint_are_one_line(root: Path) -> None:
    env = proc_env()
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    r = sync_py(root, "--endpoint-url", "http://127.0.0.1:9", env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("ERROR no AWS credentials found for ListTemplates") and "fix:" in r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = sync_py(root, "--endpoint-url", f"http://127.0.0.1:{port}", "--max-attempts", "1")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"ERROR cannot reach http://127.0.0.1:{port}") and "fix:" in r.stderr


def test_prune_asks_in_a_terminal(root: Path, moto_url: str) -> None:
    import pty

    assert sync_py(root, "--endpoint-url", moto_url, "--env", "staging").returncode == 0
    client = server_client(moto_url)
    client.create_template(Template={"TemplateName": "stg-old", "SubjectPart": "s", "HtmlPart": "h"})

    def in_terminal(answer: str) -> subprocess.CompletedProcess[str]:
        master, slave = pty.openpty()
        try:
            os.write(master, answer.encode())
            return sync_py(root, "--endpoint-url", moto_url, "--env", "staging", "--prune", stdin=slave)
        finally:
            os.close(master)
            os.close(slave)

    r = in_terminal("n\n")
    assert r.returncode == 1 and "- stg-old" in r.stderr and "Delete them?" in r.stderr
    assert "not confirmed" in r.stderr and "stg-old" in remote(client)
    r = in_terminal("y\n")
    assert r.returncode == 0, r.stderr
    assert "1 deleted" in r.stdout and "stg-old" not in remote(client)


def test_the_deploy_job_needs_no_mjml_toolchain(root: Path, moto_url: str, tmp_path: Path) -> None:
    eager = subprocess.run([sys.executable, "-c", "import sys, letterhead; print('jinja2' in sys.modules)"],
                           capture_output=True, text=True, env=proc_env())
    assert eager.stdout.strip() == "False", "importing letterhead must not load the build toolchain"
    blocker = tmp_path / "no_toolchain"
    blocker.mkdir()
    # sitecustomize runs first: make the build-only packages unimportable.
    (blocker / "sitecustomize.py").write_text(
        "import sys\nfor m in ('mjml', 'css_inline', 'html2text', 'jinja2', 'premailer'):\n"
        "    sys.modules[m] = None\n", encoding="utf-8")
    env = proc_env(PYTHONPATH=str(blocker))
    r = sync_py(root, "--endpoint-url", moto_url, "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["applied"]) == 3
    check = subprocess.run([sys.executable, "-c", "import jinja2"], env=env, capture_output=True)
    assert check.returncode != 0  # the blocker did block


def test_a_failure_mid_run_in_process_keeps_the_partial_result(root: Path, moto_url: str) -> None:
    """The same as over a proxy, through the library and a botocore handler."""
    from botocore.awsrequest import AWSResponse

    client = boto3.client("ses", region_name=REGION, endpoint_url=moto_url, config=retry_config(1))
    seen = {"n": 0}

    def fail_second_create(request: Any, event_name: str, **_: Any) -> Any:
        if event_name.endswith("CreateTemplate"):
            seen["n"] += 1
            if seen["n"] == 2:
                class Raw:
                    def stream(self, **_: Any) -> Any:
                        yield b"<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>"
                return AWSResponse(request.url, 500, {}, Raw())
        return None

    client.meta.events.register("before-send.ses", fail_second_create)
    with pytest.raises(SyncFailed) as info:
        run(root, store=TemplateStore(client, rate=1000))
    result = info.value.result
    assert [r.action.deployed for r in result.applied] == ["digest"]
    assert [(r.action.deployed, r.outcome) for r in result.not_applied] == [("reset_password", "failed"),
                                                                          ("welcome", "not-applied")]
    assert not (root / "ses_templates" / "deployed" / "default.json").exists()
    client.meta.events.unregister("before-send.ses", fail_second_create)
    again = run(root, store=TemplateStore(client, rate=1000))
    assert writes(again) == {"CreateTemplate": 2}


@pytest.mark.slow
@pytest.mark.parametrize("runs", [1])
def test_bench_runs_small(runs: int) -> None:
    """bench/sync.py, tiny and fast, so it cannot rot."""
    r = subprocess.run([sys.executable, str(REPO / "bench" / "sync.py"), "--templates", "6", "--limit", "200",
                        "--json"], capture_output=True, text=True, timeout=120, env=proc_env())
    assert r.returncode in (0, 1), r.stderr
    out = json.loads(r.stdout)
    assert [(x["mode"], x["run"]) for x in out["runs"]] == [("stable", "full"), ("stable", "no-op"),
                                                             ("versioned", "full"), ("versioned", "no-op")]
    assert all(x["error"] is None for x in out["runs"])
    assert out["targets"]["noop_versioned_at_most_3_calls"] is True
