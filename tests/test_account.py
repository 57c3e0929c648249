"""account.py: doctor's checks, idempotent setup, statistics and their
thresholds, the error table and the IAM policy.

SES is moto (in process, clients handed to ``Account``); what moto lacks is
a botocore Stubber (SES v2 GetAccount, UpdateConfigurationSetEventDestination)
or plain data (the planners and ``summarize`` are pure).  moto's
GetSendStatistics always answers one empty data point, so the statistics
fixture replaces moto's answer with the data points a test needs
(``inject_statistics``), in process and in server mode alike.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from letterhead import account as acc
from letterhead.config import load_config
from letterhead.errors import (
    AccessDeniedError,
    ConfigError,
    ConfigurationSetError,
    CredentialsError,
    EndpointError,
    RemoteError,
    ThrottledError,
)
from letterhead.authoring.payload import Manifest, ManifestEntry, SesTemplate

pytestmark = pytest.mark.aws

REGION = "us-east-1"
SENDER = "noreply@calndr.club"
SRC = Path(__file__).resolve().parent.parent / "src" / "letterhead"


# -- helpers (test_cli_account imports these) ------------------------------------------------


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, credentials: bool = True) -> None:
    """Fake credentials, a region, and nothing from the developer's ~/.aws."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SES",
                "AWS_ENDPOINT_URL_SESV2", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_REGION",
                "SES_SENDER_EMAIL", "SES_SENDER_NAME", "SES_CONFIGURATION_SET", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup off EC2
    monkeypatch.setenv("AWS_REGION", REGION)
    if credentials:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEKEYFORTEST9")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-never-printed")


def make_project(root: Path, templates: Sequence[str] = ("welcome",), *, pyproject_extra: str = "") -> Path:
    """A project with only what account needs: pyproject.toml and ses_templates/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo"\n\n[tool.letterhead]\n{pyproject_extra}',
                                         encoding="utf-8")
    ses = root / "ses_templates"
    ses.mkdir(exist_ok=True)
    entries = {}
    for name in templates:
        t = template(name)
        (ses / f"{name}.json").write_text(t.dumps(), encoding="utf-8")
        entries[name] = ManifestEntry(name, t.content_hash)
    (ses / "manifest.json").write_text(Manifest(entries).dumps(), encoding="utf-8")
    return root


def template(name: str) -> SesTemplate:
    return SesTemplate(name, "Hi {{{name}}}", "<p>Hello {{{name}}}</p>", "Hello {{{name}}}")


def point(ts: datetime, attempts: int, bounces: int = 0, complaints: int = 0, rejects: int = 0) -> dict[str, Any]:
    return {"Timestamp": ts, "DeliveryAttempts": attempts, "Bounces": bounces, "Complaints": complaints,
            "Rejects": rejects}


def stats_points(case: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """GetSendStatistics data points (15-minute buckets) for a named case:

    - ``healthy``: 1.0 % bounces, 0.02 % complaints everywhere;
    - ``bounce_24h``: 12 % bounces in the last 24 hours, 14 days fine (0.1 %);
    - ``complaint_14d``: the last 24 hours fine, 0.138 % complaints over 14 days;
    - ``at_threshold``: exactly 5 % bounces in the last 24 hours.
    """
    now = now or datetime.now(UTC)
    recent = [now - timedelta(hours=h, minutes=15) for h in (1, 5, 11, 20)]  # inside 24 h
    older = [now - timedelta(days=d, hours=3) for d in range(2, 14)]  # days 2..13
    if case == "healthy":
        return ([point(t, 1000, 10, 0) for t in recent[:3]] + [point(recent[3], 1000, 10, 1)]
                + [point(t, 1000, 10, 0) for t in older])
    if case == "bounce_24h":
        return [point(t, 25, 6 if i < 2 else 0) for i, t in enumerate(recent)] + [point(t, 1000, 0) for t in older]
    if case == "complaint_14d":
        return ([point(t, 250) for t in recent]
                + [point(t, 1000, 5, 2 if i < 6 else 1) for i, t in enumerate(older)])
    if case == "at_threshold":
        return [point(recent[0], 100, 5)] + [point(t, 1000, 0) for t in older]
    raise ValueError(case)


def inject_statistics(monkeypatch: pytest.MonkeyPatch, points: list[dict[str, Any]]) -> None:
    """moto answers GetSendStatistics with these data points (in process and in
    a ThreadedMotoServer of this process): it only ever reports one empty point."""
    from moto.core.responses import ActionResult
    from moto.ses.responses import EmailResponse

    monkeypatch.setattr(EmailResponse, "get_send_statistics",
                        lambda self: ActionResult({"SendDataPoints": list(points)}))


class Recorder:
    """Every API call made through the clients it is attached to (a botocore
    ``before-call`` handler), independent of ``Account.calls``."""

    def __init__(self, *clients: Any) -> None:
        self.operations: list[str] = []
        for c in clients:
            if c is not None:
                c.meta.events.register("before-call", self._record, unique_id=f"recorder-{id(self)}")

    def _record(self, model: Any = None, **_: Any) -> None:
        self.operations.append(model.name)

    @property
    def writes(self) -> list[str]:
        return [op for op in self.operations if op in acc.WRITE_OPERATIONS]

    def clear(self) -> None:
        self.operations.clear()


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_env(monkeypatch, tmp_path)


@pytest.fixture
def clients(moto: None) -> tuple[Any, Any]:
    return boto3.client("ses", region_name=REGION), boto3.client("sesv2", region_name=REGION)


@pytest.fixture
def account(clients: tuple[Any, Any]) -> acc.Account:
    return acc.Account(*clients)


def settings(**kw: Any) -> acc.AccountSettings:
    base: dict[str, Any] = {"region": REGION, "region_source": "AWS_REGION", "sender": SENDER,
                            "configuration_set": "letterhead", "configuration_set_source": "SES_CONFIGURATION_SET"}
    base.update(kw)
    return acc.AccountSettings(**base)


def creds() -> acc.CredentialInfo:
    return acc.CredentialInfo(True, "env", "…EST9")


def by_key(report: acc.DoctorReport) -> dict[str, acc.Check]:
    return {c.key: c for c in report.checks}


def client_error(code: str, message: str = "injected", status: int = 400, op: str = "Op") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, op)


# -- the IAM policy -------------------------------------------------------------------------

LEAD_LIST = {  # the actions the lead listed; letterhead also calls GetAccount and Update...Destination
    "CreateTemplate", "UpdateTemplate", "GetTemplate", "ListTemplates", "DeleteTemplate", "TestRenderTemplate",
    "SendTemplatedEmail", "SendBulkTemplatedEmail", "GetSendQuota", "GetSendStatistics", "VerifyEmailIdentity",
    "GetIdentityVerificationAttributes", "ListIdentities", "CreateConfigurationSet",
    "CreateConfigurationSetEventDestination", "DescribeConfigurationSet", "ListConfigurationSets",
}


def test_policy_lists_exactly_the_actions_and_pins_the_sender() -> None:
    policy = acc.iam_policy(SENDER)
    json.dumps(policy)  # a plain JSON document
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    assert actions == set(acc.iam_actions())
    assert {a.removeprefix("ses:") for a in actions} == LEAD_LIST | {
        "GetAccount", "UpdateConfigurationSetEventDestination",
        # api = "v2" (issue 15): templated sends with headers
        "SendEmail", "SendBulkEmail",
        # suppression = "ses" (issue 16): the account-level suppression list
        "GetSuppressedDestination", "PutSuppressedDestination", "DeleteSuppressedDestination",
        "ListSuppressedDestinations"}
    assert all(st["Effect"] == "Allow" and st["Resource"] == "*" for st in policy["Statement"])
    sending = next(st for st in policy["Statement"] if st["Sid"] == "LetterheadSending")
    assert sending["Condition"] == {"StringEquals": {"ses:FromAddress": SENDER}}
    # reading the rate names no sender: under that condition it would never be allowed
    rate = next(st for st in policy["Statement"] if "ses:GetSendQuota" in st["Action"] and "Condition" not in st)
    assert {"ses:GetSendQuota", "ses:GetAccount"} <= set(rate["Action"])
    assert not {a for a in sending["Action"] if a.startswith("ses:Get")}
    assert "Condition" not in next(st for st in acc.iam_policy(None)["Statement"] if st["Sid"] == "LetterheadSending")


# Calls that look like SES operations but are not AWS calls.
NOT_AWS_FILES = {
    "localses.py": "drives letterhead's own loopback moto server, never AWS",
    "localses_v2.py": "answers SES v2 calls in letterhead's own loopback local SES, never AWS",
}
POLICY_FILE = "account/policy.py"  # where IAM_STATEMENTS lives
NOT_AWS_CALL = re.compile(r"(\benv\b|_env\(\))\.get_template\(")  # Jinja environments


def ses_operations() -> dict[str, str]:
    """snake_case and CamelCase name → CamelCase operation, for SES v1 and v2."""
    from botocore import xform_name

    session = botocore.session.get_session()
    ops: dict[str, str] = {}
    for service in ("ses", "sesv2"):
        for op in session.get_service_model(service).operation_names:
            ops[op] = op
            ops[xform_name(op)] = op
    return ops


def _policy_table_lines() -> set[int]:
    tree = ast.parse((SRC / POLICY_FILE).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(getattr(t, "id", None) == "IAM_STATEMENTS" for t in targets):
                return set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    raise AssertionError("IAM_STATEMENTS not found in account.py")


@functools.cache
def ses_calls_in_source(*, strict: bool = False) -> dict[str, list[str]]:
    """Operation → ``file:line``s where src/letterhead calls it: a method call
    ``.send_templated_email(``, or an operation named in a string literal
    (``_call("ListTemplates", ...)``, ``api_name = "send_bulk_email"``).
    ``strict`` counts only calls (method calls, or literals on a line that calls
    ``_call(``/``getattr(``) and skips the policy table itself."""
    ops = ses_operations()
    skip_lines = _policy_table_lines() if strict else set()
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name in NOT_AWS_FILES:
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if NOT_AWS_CALL.search(code) or (path.relative_to(SRC).as_posix() == POLICY_FILE and lineno in skip_lines):
                continue
            names = [m.group(1) for m in re.finditer(r"\.([a-z][a-z0-9_]*)\s*\(", code)]
            if not strict or re.search(r"\b(_call\w*|getattr|get_paginator)\(", code):
                names += [m.group(1) for m in re.finditer(r"[\"']([A-Za-z][A-Za-z0-9_]*)[\"']", code)]
            for name in names:
                if name in ops:
                    found.setdefault(ops[name], []).append(f"{path.relative_to(SRC)}:{lineno}")
    return found


def test_every_ses_call_in_the_code_is_in_the_policy() -> None:
    found = ses_calls_in_source()
    # the scan finds the calls it must (else it would pass vacuously)
    assert {"CreateTemplate", "ListTemplates", "GetSendQuota", "VerifyEmailIdentity",
            "CreateConfigurationSetEventDestination"} <= set(found)
    allowed = {a.removeprefix("ses:") for a in acc.iam_actions()}
    missing = {op: where for op, where in found.items() if op not in allowed}
    assert not missing, f"SES calls missing from account.IAM_STATEMENTS: {missing}"


@pytest.mark.parametrize("action", sorted(a.removeprefix("ses:") for a in acc.iam_actions()))
def test_every_policy_action_is_called_somewhere(action: str) -> None:
    found = ses_calls_in_source(strict=True)
    assert action in found, f"ses:{action} is in the policy but no module calls it: drop it"


# -- settings and credentials ------------------------------------------------------------------


def test_settings_defaults_and_environment(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    s = acc.account_settings(load_config(root, environ={"AWS_REGION": "eu-west-1"}))
    assert (s.configuration_set, s.configuration_set_source, s.sender, s.region) == (
        "letterhead", "default", None, "eu-west-1")
    env = {"SES_CONFIGURATION_SET": "calndr-prod", "SES_SENDER_EMAIL": "Calndr <noreply@calndr.club>"}
    s = acc.account_settings(load_config(root, environ=env))
    assert (s.configuration_set, s.configuration_set_source, s.sender, s.sender_domain) == (
        "calndr-prod", "SES_CONFIGURATION_SET", SENDER, "calndr.club")
    assert acc.account_settings(load_config(root, environ=env), configuration_set="x").configuration_set == "x"
    synced = make_project(tmp_path / "q", pyproject_extra='\n[tool.letterhead.sync]\nregion = "eu-central-1"\n')
    s = acc.account_settings(load_config(synced, environ={}))
    assert (s.region, s.region_source) == ("eu-central-1", "[tool.letterhead.sync] region")


@pytest.mark.parametrize("kw", [{"configuration_set": "has space"}, {"configuration_set": "x" * 65},
                                {"sender": "not-an-address"}])
def test_settings_refuse_bad_names_before_any_call(tmp_path: Path, kw: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as e:
        acc.account_settings(load_config(make_project(tmp_path / "p"), environ={}), **kw)
    assert e.value.hint


def test_credentials_report_the_source_never_the_secret() -> None:
    info = acc.credential_info(boto3.session.Session())
    assert (info.found, info.method, info.key_hint) == (True, "env", "…EST9")
    text = json.dumps(info.to_dict()) + repr(info) + acc.check_credentials(info).summary
    assert "fake-secret" not in text and "AKIAFAKEKEYFORTEST9" not in text
    assert "environment variables" in acc.check_credentials(info).summary


def test_no_credentials_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    info = acc.credential_info(boto3.session.Session())
    assert not info.found
    check = acc.check_credentials(info)
    assert check.status == acc.FAIL and "AWS_ACCESS_KEY_ID" in (check.fix or "")


# -- doctor -------------------------------------------------------------------------------------


def test_doctor_on_a_fresh_account_fails_sender_and_configuration_set(account: acc.Account) -> None:
    report = acc.doctor(settings(), creds(), lambda: account)
    checks = by_key(report)
    assert [c.key for c in report.checks] == list(acc.CHECK_TITLES)
    assert {k for k, c in checks.items() if c.status == acc.FAIL} == {"sender", "configuration_set"}
    assert checks["credentials"].status == checks["region"].status == checks["quota"].status == acc.OK
    # moto reports the sandbox quota and has no SES v2 GetAccount: "likely", and says why
    assert checks["sandbox"].status == acc.WARN and "likely" in checks["sandbox"].summary
    assert "GetAccount" in checks["sandbox"].summary
    assert "letterhead setup" in (checks["sender"].fix or "")
    assert checks["event_destinations"].status == acc.SKIP
    assert checks["templates"].status == acc.SKIP  # no config: no manifest to check
    assert not report.ok and report.calls.get("GetSendQuota") == 1
    assert account.write_calls == 0


def test_doctor_passes_after_setup_and_sync(account: acc.Account, clients: tuple[Any, Any],
                                            tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path / "p", ["welcome", "digest"]), environ={})
    acc.setup(account, acc.SetupSpec(SENDER))
    before = by_key(acc.doctor(settings(), creds(), lambda: account, config=config))
    assert before["templates"].status == acc.FAIL and "welcome" in before["templates"].summary
    assert "letterhead sync" in (before["templates"].fix or "")
    for name in ("welcome", "digest"):
        clients[0].create_template(**template(name).to_json())
    report = acc.doctor(settings(), creds(), lambda: account, config=config)
    assert report.ok, [c for c in report.checks if c.status == acc.FAIL]
    assert {c.key for c in report.warnings} == {"sandbox"}
    checks = by_key(report)
    assert SENDER in checks["sender"].data["verified_identities"]
    assert "rendering failure" in checks["event_destinations"].summary


def test_doctor_templates_use_the_sync_namespace_of_env(account: acc.Account, clients: tuple[Any, Any],
                                                        tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", pyproject_extra='\n[tool.letterhead.env.staging]\nprefix = "staging-"\n')
    config = load_config(root, environ={})
    clients[0].create_template(**template("welcome").to_json())  # the default env's name only
    staging = by_key(acc.doctor(settings(), creds(), lambda: account, config=config, env="staging"))
    assert staging["templates"].status == acc.FAIL
    assert "staging-welcome" in staging["templates"].summary
    assert "--env staging" in (staging["templates"].fix or "")
    clients[0].create_template(**template("staging-welcome").to_json())
    staging = by_key(acc.doctor(settings(), creds(), lambda: account, config=config, env="staging"))
    assert staging["templates"].status == acc.OK
    unknown = by_key(acc.doctor(settings(), creds(), lambda: account, config=config, env="nope"))
    assert unknown["templates"].status == acc.FAIL and "unknown environment" in unknown["templates"].summary


def test_doctor_without_credentials_makes_no_call(account: acc.Account) -> None:
    rec = Recorder(account.ses, account.sesv2)
    report = acc.doctor(settings(), acc.CredentialInfo(False), lambda: account)
    checks = by_key(report)
    assert checks["credentials"].status == acc.FAIL
    assert {c.status for k, c in checks.items() if k not in ("credentials", "region")} == {acc.SKIP}
    assert rec.operations == []


def test_doctor_when_aws_refuses_the_credentials(account: acc.Account) -> None:
    stub = Stubber(account.ses)
    stub.add_client_error("get_send_quota", "InvalidClientTokenId", "The security token is invalid.")
    with stub:
        report = acc.doctor(settings(), creds(), lambda: account)
    checks = by_key(report)
    assert checks["credentials"].status == acc.FAIL and "InvalidClientTokenId" in checks["credentials"].summary
    assert checks["sender"].status == acc.SKIP


def test_doctor_reports_an_unknown_region_as_the_region_check(tmp_path: Path) -> None:
    s = settings(region="us-esat-1")
    report = acc.doctor(s, creds(), lambda: acc.Account.connect(s))
    checks = by_key(report)
    assert checks["region"].status == acc.FAIL and "did you mean" in (checks["region"].fix or "")
    assert checks["quota"].status == acc.SKIP


def test_doctor_names_the_event_types_a_destination_lacks(account: acc.Account, clients: tuple[Any, Any]) -> None:
    ses = clients[0]
    ses.create_configuration_set(ConfigurationSet={"Name": "letterhead"})
    partial = acc.cloudwatch_destination("letterhead")
    partial["MatchingEventTypes"] = ["send", "delivery", "bounce", "complaint"]
    ses.create_configuration_set_event_destination(ConfigurationSetName="letterhead", EventDestination=partial)
    check = by_key(acc.doctor(settings(), creds(), lambda: account))["event_destinations"]
    assert check.status == acc.FAIL
    assert "reject, rendering failure" in check.summary and "only trace" in check.summary
    assert check.data["missing_event_types"] == ["reject", "renderingFailure"]


def test_doctor_lists_existing_sets_when_the_configured_one_is_missing(account: acc.Account,
                                                                      clients: tuple[Any, Any]) -> None:
    clients[0].create_configuration_set(ConfigurationSet={"Name": "calndr-prod"})
    check = by_key(acc.doctor(settings(), creds(), lambda: account))["configuration_set"]
    assert check.status == acc.FAIL and "calndr-prod" in check.summary


def test_default_configuration_set_warns_that_sends_need_the_variable(account: acc.Account) -> None:
    acc.setup(account, acc.SetupSpec(SENDER))
    check = by_key(acc.doctor(settings(configuration_set_source="default"), creds(),
                              lambda: account))["configuration_set"]
    assert check.status == acc.WARN and "SES_CONFIGURATION_SET=letterhead" in (check.fix or "")


@pytest.mark.parametrize(("status", "domain_status", "expected", "fix"), [
    ("Success", None, acc.OK, None),
    (None, "Success", acc.OK, None),
    ("Pending", None, acc.FAIL, "click the link"),
    ("Failed", None, acc.FAIL, "letterhead setup"),
    (None, None, acc.FAIL, "letterhead setup"),
])
def test_sender_check(status: str | None, domain_status: str | None, expected: str, fix: str | None) -> None:
    st = acc.SenderStatus(acc.IdentityStatus(SENDER, status), acc.IdentityStatus("calndr.club", domain_status))
    check = acc.check_sender(settings(), st)
    assert check.status == expected
    if fix:
        assert fix in (check.fix or "")
    if domain_status == "Success":
        assert "through its domain calndr.club" in check.summary


def test_no_sender_configured_is_a_failed_check() -> None:
    check = acc.check_sender(settings(sender=None), None)
    assert check.status == acc.FAIL and "SES_SENDER_EMAIL" in (check.fix or "")


@pytest.mark.parametrize(("quota", "expected"), [
    ({"Max24HourSend": 50000, "MaxSendRate": 14, "SentLast24Hours": 100}, acc.OK),
    ({"Max24HourSend": 200, "MaxSendRate": 1, "SentLast24Hours": 170}, acc.WARN),
    ({"Max24HourSend": 200, "MaxSendRate": 1, "SentLast24Hours": 200}, acc.FAIL),
    ({"Max24HourSend": -1, "MaxSendRate": 100, "SentLast24Hours": 10 ** 6}, acc.OK),
])
def test_quota_check(quota: dict[str, float], expected: str) -> None:
    assert acc.check_quota(acc.SendQuota.from_api(quota)).status == expected


def _get_account(production: bool, sending: bool = True, enforcement: str = "HEALTHY") -> dict[str, Any]:
    return {"ProductionAccessEnabled": production, "SendingEnabled": sending, "EnforcementStatus": enforcement,
            "DedicatedIpAutoWarmupEnabled": False}


@pytest.mark.parametrize(("answer", "expected", "words"), [
    (_get_account(True), acc.OK, "production access"),
    (_get_account(False), acc.WARN, "sandbox"),
    (_get_account(True, sending=False), acc.FAIL, "paused"),
    (_get_account(True, enforcement="PROBATION"), acc.WARN, "PROBATION"),
])
def test_sandbox_check_trusts_get_account_when_there_is_one(answer: dict[str, Any], expected: str,
                                                            words: str) -> None:
    sesv2 = boto3.client("sesv2", region_name=REGION)
    with Stubber(sesv2) as stub:
        stub.add_response("get_account", answer)
        details = acc.Account(boto3.client("ses", region_name=REGION), sesv2).details()
    sandbox_quota = acc.SendQuota(200, 1, 0)  # GetAccount wins over the quota heuristic
    check = acc.check_sandbox(sandbox_quota, details)
    assert check.status == expected and words in check.summary


def test_sandbox_check_says_why_get_account_was_not_used() -> None:
    sesv2 = boto3.client("sesv2", region_name=REGION)
    with Stubber(sesv2) as stub:
        stub.add_client_error("get_account", "AccessDeniedException", http_status_code=403)
        details = acc.Account(boto3.client("ses", region_name=REGION), sesv2).details()
    check = acc.check_sandbox(acc.SendQuota(50000, 14, 0), details)
    assert check.status == acc.OK and "likely production" in check.summary
    assert "ses:GetAccount is not allowed" in check.summary


# -- setup -------------------------------------------------------------------------------------


def test_setup_twice_second_run_changes_nothing(account: acc.Account) -> None:
    from moto.ses.models import ses_backends

    rec = Recorder(account.ses, account.sesv2)
    first = acc.setup(account, acc.SetupSpec(SENDER))
    assert [c.action for c in first.applied] == ["verify-sender", "create-configuration-set",
                                                 "create-event-destination"]
    assert rec.writes == ["VerifyEmailIdentity", "CreateConfigurationSet", "CreateConfigurationSetEventDestination"]
    assert first.sender_after.verified  # moto verifies at once
    backend = ses_backends["123456789012"][REGION]
    stored = backend.config_set_event_destination["letterhead"]
    assert stored["MatchingEventTypes"] == list(acc.EVENT_TYPES)
    assert "renderingFailure" in stored["MatchingEventTypes"]

    rec.clear()
    again = acc.setup(acc.Account(account.ses, account.sesv2), acc.SetupSpec(SENDER))
    assert again.plan.empty and again.applied == ()
    assert rec.writes == [] and again.write_calls == 0
    assert set(rec.operations) == {"GetIdentityVerificationAttributes", "DescribeConfigurationSet"}


def test_setup_dry_run_makes_no_write_call(account: acc.Account) -> None:
    from moto.ses.models import ses_backends

    rec = Recorder(account.ses, account.sesv2)
    result = acc.setup(account, acc.SetupSpec(SENDER), dry_run=True)
    assert len(result.plan.changes) == 3 and result.applied == ()
    assert rec.writes == [] and rec.operations
    backend = ses_backends["123456789012"][REGION]
    assert "letterhead" not in backend.config_sets and SENDER not in backend.email_identities


def test_setup_with_an_sns_topic_for_rendering_failures(account: acc.Account) -> None:
    from moto.ses.models import ses_backends

    arn = "arn:aws:sns:us-east-1:123456789012:letterhead-alerts"
    rec = Recorder(account.ses)
    acc.setup(account, acc.SetupSpec(SENDER, sns_topic_arn=arn))
    assert rec.writes.count("CreateConfigurationSetEventDestination") == 2
    # moto keeps only the last destination of a set for DescribeConfigurationSet,
    # but records every destination's name
    assert set(ses_backends["123456789012"][REGION].event_destinations) == {acc.CLOUDWATCH_DESTINATION,
                                                                            acc.SNS_DESTINATION}
    with pytest.raises(ConfigError):
        acc.SetupSpec(SENDER, sns_topic_arn="letterhead-alerts")


def _state(*destinations: dict[str, Any], sender: str | None = "Success") -> acc.SetupState:
    return acc.SetupState(acc.SenderStatus(acc.IdentityStatus(SENDER, sender)),
                          acc.ConfigurationSetState("letterhead", tuple(acc.EventDestination.from_api(d)
                                                                        for d in destinations)))


def test_plan_leaves_a_pending_sender_alone_unless_resend() -> None:
    state = _state(acc.cloudwatch_destination("letterhead"), sender="Pending")
    plan = acc.plan_setup(state, acc.SetupSpec(SENDER))
    assert plan.empty and "--resend" in plan.notes[0]
    resend = acc.plan_setup(state, acc.SetupSpec(SENDER, resend=True))
    assert [c.operation for c in resend.changes] == ["VerifyEmailIdentity"]


def test_plan_accepts_a_destination_the_team_made() -> None:
    theirs = acc.cloudwatch_destination("letterhead") | {"Name": "team-metrics"}
    theirs["MatchingEventTypes"] = [*acc.EVENT_TYPES, "open", "click"]
    assert acc.plan_setup(_state(theirs), acc.SetupSpec(SENDER)).empty
    disabled = theirs | {"Enabled": False}
    plan = acc.plan_setup(_state(disabled), acc.SetupSpec(SENDER))
    assert [c.action for c in plan.changes] == ["create-event-destination"]


def test_plan_updates_our_destination_keeping_extra_types() -> None:
    ours = acc.cloudwatch_destination("letterhead")
    ours["MatchingEventTypes"] = ["send", "bounce", "open"]
    ours["Enabled"] = False
    plan = acc.plan_setup(_state(ours), acc.SetupSpec(SENDER))
    (change,) = plan.changes
    assert change.operation == "UpdateConfigurationSetEventDestination"
    dest = change.params["EventDestination"]
    assert dest["Enabled"] is True
    assert dest["MatchingEventTypes"] == [*acc.EVENT_TYPES, "open"]
    assert dest["CloudWatchDestination"] == ours["CloudWatchDestination"]
    assert "enable it" in change.description and "rendering failure" in change.description


def test_plan_points_our_sns_destination_at_a_new_topic() -> None:
    old = acc.sns_destination("arn:aws:sns:us-east-1:123456789012:old")
    new_arn = "arn:aws:sns:us-east-1:123456789012:new"
    plan = acc.plan_setup(_state(acc.cloudwatch_destination("letterhead"), old),
                          acc.SetupSpec(SENDER, sns_topic_arn=new_arn))
    (change,) = plan.changes
    assert change.action == "update-event-destination"
    assert change.params["EventDestination"]["SNSDestination"] == {"TopicARN": new_arn}
    assert acc.plan_setup(_state(acc.cloudwatch_destination("letterhead"), acc.sns_destination(new_arn)),
                          acc.SetupSpec(SENDER, sns_topic_arn=new_arn)).empty


def test_an_sns_destination_for_rendering_failures_only_is_widened_for_the_event_consumer() -> None:
    arn = "arn:aws:sns:us-east-1:123456789012:ses-events"
    before = {**acc.sns_destination(arn), "MatchingEventTypes": ["renderingFailure"]}  # what setup made before
    plan = acc.plan_setup(_state(acc.cloudwatch_destination("letterhead"), before),
                          acc.SetupSpec(SENDER, sns_topic_arn=arn))
    (change,) = plan.changes
    assert change.action == "update-event-destination"
    types = set(change.params["EventDestination"]["MatchingEventTypes"])
    assert {"bounce", "complaint", "delivery", "send", "renderingFailure", "deliveryDelay"} <= types


def test_apply_an_update_calls_update_configuration_set_event_destination() -> None:
    ses = boto3.client("ses", region_name=REGION)
    ours = acc.cloudwatch_destination("letterhead")
    ours["MatchingEventTypes"] = ["send"]
    describe = {"ConfigurationSet": {"Name": "letterhead"}, "EventDestinations": [ours]}
    expected = acc.cloudwatch_destination("letterhead")
    with Stubber(ses) as stub:
        stub.add_response("get_identity_verification_attributes",
                          {"VerificationAttributes": {SENDER: {"VerificationStatus": "Success"}}})
        stub.add_response("describe_configuration_set", describe)
        stub.add_response("update_configuration_set_event_destination", {},
                          {"ConfigurationSetName": "letterhead", "EventDestination": expected})
        result = acc.setup(acc.Account(ses), acc.SetupSpec(SENDER))
        stub.assert_no_pending_responses()
    assert [c.action for c in result.applied] == ["update-event-destination"]
    assert result.write_calls == 1


# -- statistics ------------------------------------------------------------------------------


NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def _report(case: str, **kw: Any) -> acc.StatsReport:
    pts = [acc.DataPoint.from_api(p) for p in stats_points(case, NOW)]
    return acc.summarize(pts, acc.SendQuota(50000, 14, 100), now=NOW, **kw)


def test_summarize_windows_and_days() -> None:
    report = _report("healthy")
    assert report.last_24h.attempts == 4000 and report.last_24h.bounces == 40 and report.last_24h.complaints == 1
    assert report.last_24h.bounce_rate == pytest.approx(0.01)
    assert report.last_14d.attempts == 16000
    assert len(report.days) == 14 and report.days[-1].start.date() == NOW.date()
    assert sum(d.attempts for d in report.days) == 16000
    assert report.ok and report.breaches == []


def test_summarize_excludes_a_point_exactly_24_hours_old_and_future_points() -> None:
    pts = [acc.DataPoint(NOW - timedelta(hours=24), 10, 10), acc.DataPoint(NOW + timedelta(minutes=15), 10, 10),
           acc.DataPoint(NOW - timedelta(minutes=15), 100)]
    report = acc.summarize(pts, now=NOW)
    assert (report.last_24h.attempts, report.last_24h.bounces) == (100, 0)
    assert (report.last_14d.attempts, report.last_14d.bounces) == (110, 10)


def test_summarize_without_sends_has_no_rates() -> None:
    report = acc.summarize([], now=NOW)
    assert report.last_24h.bounce_rate is None and report.last_14d.complaint_rate is None and report.ok


@pytest.mark.parametrize(("case", "breach"), [
    ("bounce_24h", "bounce rate 12.00 % over the last 24 hours"),
    ("complaint_14d", "complaint rate 0.138 % over the last 14 days"),
    ("at_threshold", "bounce rate 5.00 % over the last 24 hours"),
])
def test_thresholds_are_crossed_per_rate_and_window(case: str, breach: str) -> None:
    report = _report(case)
    assert not report.ok
    assert len(report.breaches) == 1 and report.breaches[0].startswith(breach)
    assert report.to_dict()["breaches"] == report.breaches


def test_thresholds_can_be_stricter() -> None:
    assert _report("healthy").ok
    assert not _report("healthy", thresholds=acc.Thresholds(bounce=0.01)).ok


def test_statistics_through_moto_with_injected_data_points(account: acc.Account,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert acc.statistics(account).last_14d.attempts == 0  # what moto says by itself
    inject_statistics(monkeypatch, stats_points("bounce_24h"))
    report = acc.statistics(account)
    assert report.quota == acc.SendQuota(200, 1, 0)
    assert report.last_24h.attempts == 100 and report.last_24h.bounce_rate == pytest.approx(0.12)
    assert report.last_14d.bounce_rate == pytest.approx(12 / 12100)
    assert [b.split(" over")[0] for b in report.breaches] == ["bounce rate 12.00 %"]


# -- errors: the troubleshooting table -------------------------------------------------------


@pytest.mark.parametrize(("exc", "cls", "words"), [
    (NoCredentialsError(), CredentialsError, "AWS_ACCESS_KEY_ID"),
    (client_error("InvalidClientTokenId"), CredentialsError, "AWS_PROFILE"),
    (client_error("AccessDenied", "not authorized to perform ses:GetSendStatistics"), AccessDeniedError,
     "--print-policy"),
    (client_error("Throttling", "Rate exceeded"), ThrottledError, "one GetSendQuota call per second"),
    (client_error("ConfigurationSetDoesNotExist"), ConfigurationSetError, "letterhead setup"),
    (client_error("InvalidSNSDestination"), ConfigurationSetError, "same region"),
    (client_error("InternalFailure", status=500), RemoteError, "rerun"),
    (EndpointConnectionError(endpoint_url="https://email.mars-1.amazonaws.com"), EndpointError, "AWS_REGION"),
])
def test_explain_maps_errors_to_the_fix(exc: BaseException, cls: type, words: str) -> None:
    err = acc.explain(exc, "GetSendQuota")
    assert type(err) is cls and words in (err.hint or "")
    assert err.operation == "GetSendQuota"


def test_account_calls_raise_explained_errors() -> None:
    ses = boto3.client("ses", region_name=REGION)
    with Stubber(ses) as stub:
        stub.add_client_error("get_send_statistics", "AccessDenied", "no", http_status_code=403)
        with pytest.raises(AccessDeniedError) as e:
            acc.Account(ses).send_statistics()
    assert "ses:GetSendStatistics" in (e.value.hint or "")


def test_template_names_follow_next_token() -> None:
    ses = boto3.client("ses", region_name=REGION)
    with Stubber(ses) as stub:
        stub.add_response("list_templates", {"TemplatesMetadata": [{"Name": "a"}, {"Name": "b"}], "NextToken": "t"},
                          {"MaxItems": 100})
        stub.add_response("list_templates", {"TemplatesMetadata": [{"Name": "c"}]},
                          {"MaxItems": 100, "NextToken": "t"})
        assert acc.Account(ses).template_names(page_pause=0) == {"a", "b", "c"}


def test_missing_configuration_set_is_none_not_an_error(account: acc.Account) -> None:
    assert account.configuration_set("nope") is None


def test_event_destination_from_api_knows_every_kind() -> None:
    kinds = {acc.EventDestination.from_api({"Name": n, "Enabled": True, "MatchingEventTypes": ["send"], key: block}).kind
             for n, key, block in [
                 ("a", "CloudWatchDestination", {"DimensionConfigurations": []}),
                 ("b", "SNSDestination", {"TopicARN": "arn:aws:sns:us-east-1:1:t"}),
                 ("c", "KinesisFirehoseDestination", {"DeliveryStreamARN": "arn:x", "IAMRoleARN": "arn:y"}),
             ]}
    assert kinds == {"cloudwatch", "sns", "firehose"}


def test_report_json_round_trips(account: acc.Account) -> None:
    report = acc.doctor(settings(), creds(), lambda: account)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and set(data["failed"]) == {"sender", "configuration_set"}
    assert isinstance(data["checks"], list) and all("fix" in c for c in data["checks"])
