"""``letterhead doctor / setup / stats`` as users meet them: CliRunner over
moto in process, and the real command in a subprocess against moto's
ThreadedMotoServer (real HTTP, ``AWS_ENDPOINT_URL_SES``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from letterhead import account as acc
from letterhead.cli import account as cli_account

from .test_account import (
    REGION,
    SENDER,
    Recorder,
    fake_aws_env,
    inject_statistics,
    make_project,
    stats_points,
    template,
)

pytestmark = pytest.mark.aws

LETTERHEAD = Path(sys.executable).parent / "letterhead"  # the installed command


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SES_SENDER_EMAIL", SENDER)
    monkeypatch.setenv("SES_CONFIGURATION_SET", "letterhead")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[Recorder]:
    """One Recorder per account the CLI connects, attached to its clients."""
    made: list[Recorder] = []
    real = cli_account.connect_account

    def connect(settings: acc.AccountSettings, session: Any) -> acc.Account:
        account = real(settings, session)
        made.append(Recorder(account.ses, account.sesv2))
        return account

    monkeypatch.setattr(cli_account, "connect_account", connect)
    return made


def run(command: Any, project: Path, *args: str) -> Result:
    return CliRunner().invoke(command, ["--root", str(project), *args])


def writes(recorders: list[Recorder]) -> list[str]:
    return [op for r in recorders for op in r.writes]


# -- setup --print-policy ----------------------------------------------------------------


def test_print_policy_needs_no_aws_at_all(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_REGION")
    result = run(cli_account.setup, project, "--print-policy")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == acc.iam_policy(SENDER)


def test_help_of_each_command_mentions_json() -> None:
    for command in cli_account.COMMANDS:
        result = CliRunner().invoke(command, ["--help"])
        assert result.exit_code == 0 and "--json" in result.output


def test_registered_in_the_letterhead_group_with_its_root(project: Path, moto: None) -> None:
    from letterhead.cli.main import cli

    assert {"doctor", "setup", "stats"} <= set(cli.list_commands(None))  # type: ignore[arg-type]
    result = CliRunner().invoke(cli, ["--root", str(project), "doctor", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["failed"] == ["sender", "configuration_set", "templates"]  # project's manifest


# -- doctor ----------------------------------------------------------------------------------


def test_doctor_before_setup_fails_with_the_fixes(project: Path, moto: None) -> None:
    result = run(cli_account.doctor, project)
    assert result.exit_code == 2, result.output
    out = result.stdout
    key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]  # moto's, inside mock_aws
    assert "✓ credentials" in out and "environment variables" in out and f"access key …{key[-4:]}" in out
    assert secret not in result.output and key not in result.output
    assert "✗ sender identity" in out and "fix: run `letterhead setup`" in out
    assert "✗ configuration set" in out
    assert "! sandbox" in out and "likely" in out
    assert "✗ templates in SES" in out and "welcome" in out
    assert "ERROR 3 check(s) failed: sender identity, configuration set, templates in SES" in result.stderr


def test_doctor_json(project: Path, moto: None) -> None:
    result = run(cli_account.doctor, project, "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["error"] == "AccountCheckFailed"
    assert data["failed"] == ["sender", "configuration_set", "templates"]
    assert data["credentials"]["access_key_id"] == "…" + os.environ["AWS_ACCESS_KEY_ID"][-4:]
    assert data["settings"]["configuration_set"] == "letterhead"


def test_doctor_passes_after_setup_and_sync(project: Path, moto: None) -> None:
    assert run(cli_account.setup, project).exit_code == 0
    boto3.client("ses", region_name=REGION).create_template(**template("welcome").to_json())
    result = run(cli_account.doctor, project)
    assert result.exit_code == 0, result.output
    assert "✓ event destinations" in result.stdout and "rendering failure" in result.stdout
    assert "7 passed, 1 warning(s), 0 failed" in result.stdout
    strict = run(cli_account.doctor, project, "--strict", "--json")
    assert strict.exit_code == 2 and json.loads(strict.stdout)["warnings"] == ["sandbox"]


def test_doctor_without_credentials(project: Path, moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run(cli_account.doctor, project)
    assert result.exit_code == 2
    assert "✗ credentials" in result.stdout and "no AWS credentials found" in result.stdout
    assert "fix: set AWS_ACCESS_KEY_ID" in result.stdout
    assert "skipped: needs credentials" in result.stdout


# -- setup -----------------------------------------------------------------------------------


def test_setup_then_again_changes_nothing(project: Path, moto: None, recorder: list[Recorder]) -> None:
    first = run(cli_account.setup, project)
    assert first.exit_code == 0, first.output
    assert "set up: 3 change(s) made" in first.stdout and '"ses:GetSendStatistics"' in first.stdout
    assert writes(recorder) == ["VerifyEmailIdentity", "CreateConfigurationSet",
                                "CreateConfigurationSetEventDestination"]
    recorder.clear()
    second = run(cli_account.setup, project)
    assert second.exit_code == 0
    assert "nothing to change: the account is set up" in second.stdout
    assert writes(recorder) == [] and recorder[0].operations
    as_json = json.loads(run(cli_account.setup, project, "--json").stdout)
    assert as_json["changed"] is False and as_json["write_calls"] == 0 and as_json["changes"] == []


def test_setup_dry_run_makes_no_write_call(project: Path, moto: None, recorder: list[Recorder]) -> None:
    result = run(cli_account.setup, project, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would create the configuration set letterhead" in result.stdout
    assert "dry run: 3 change(s) to make, nothing changed" in result.stdout
    assert writes(recorder) == []
    assert run(cli_account.doctor, project).exit_code == 2  # still not set up


def test_setup_without_a_sender_says_what_to_set(project: Path, moto: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SES_SENDER_EMAIL")
    result = run(cli_account.setup, project)
    assert result.exit_code == 1
    assert "no sender configured" in result.stderr and "SES_SENDER_EMAIL" in result.stderr


def test_setup_notes_when_sends_would_not_use_the_default_set(project: Path, moto: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SES_CONFIGURATION_SET")
    result = run(cli_account.setup, project)
    assert result.exit_code == 0
    assert "SES_CONFIGURATION_SET=letterhead" in result.stdout


# -- stats -----------------------------------------------------------------------------------


def test_stats_healthy_exits_0_with_a_chart(project: Path, moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_statistics(monkeypatch, stats_points("healthy"))
    result = run(cli_account.stats, project)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Send quota: 0 of 200" in out
    assert "last 24 hours" in out and "4000" in out and "40 (1.00 %) ✓" in out
    assert "Delivery attempts per day (UTC), last 14 days" in out and "█" in out


@pytest.mark.parametrize(("case", "message"), [
    ("bounce_24h", "bounce rate 12.00 % over the last 24 hours is at or above 5.0 %"),
    ("complaint_14d", "complaint rate 0.138 % over the last 14 days is at or above 0.1 %"),
])
def test_stats_over_a_threshold_exits_2(project: Path, moto: None, monkeypatch: pytest.MonkeyPatch,
                                        case: str, message: str) -> None:
    inject_statistics(monkeypatch, stats_points(case))
    result = run(cli_account.stats, project)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "suppression list" in result.stderr
    data = json.loads(run(cli_account.stats, project, "--json").stdout)
    assert data["ok"] is False and data["error"] == "ThresholdExceeded"
    assert data["breaches"][0].startswith(message)
    assert len(data["days"]) == 14


def test_stats_thresholds_are_options(project: Path, moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_statistics(monkeypatch, stats_points("bounce_24h"))
    assert run(cli_account.stats, project, "--max-bounce-rate", "15").exit_code == 0
    inject_statistics(monkeypatch, stats_points("healthy"))
    assert run(cli_account.stats, project, "--max-bounce-rate", "1").exit_code == 2


def test_stats_without_credentials_is_an_error_with_the_fix(project: Path, moto: None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run(cli_account.stats, project, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["error"] == "CredentialsError" and "AWS_ACCESS_KEY_ID" in data["hint"]


# -- the chart -------------------------------------------------------------------------------


def _days(values: list[int], bounces: dict[int, int] | None = None) -> list[acc.Totals]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    return [acc.Totals(str(i), start + timedelta(days=i), v, (bounces or {}).get(i, 0))
            for i, v in enumerate(values)]


def test_chart_scales_to_the_highest_day_and_marks_breaches() -> None:
    values = [0, 10, 20, 40, 80, 0, 0, 0, 0, 0, 0, 0, 5, 1]
    lines = cli_account.render_chart(_days(values, {4: 8}), acc.Thresholds())
    assert lines[0].endswith("highest 80")
    bars = lines[1:5]
    column = [row[2 + 4 * 3: 2 + 4 * 3 + 2] for row in bars]
    assert column == ["██", "██", "██", "██"]  # the highest day fills every row
    assert all(row[2:4].strip() == "" for row in bars)  # a day without sends stays empty
    assert bars[-1][2 + 13 * 3] != " "  # 1 send still shows a sliver
    assert "b" in lines[5] and "bounce" in lines[5]
    assert lines[-1].strip().startswith("03-01") and lines[-1].endswith("03-14")
    assert set("".join(bars)) <= set(cli_account.BLOCKS)


def test_chart_without_sends() -> None:
    assert cli_account.render_chart(_days([0] * 14), acc.Thresholds())[-1].strip() == "no sends"


# -- the installed command against moto's HTTP server -------------------------------------------


@pytest.fixture
def server_actions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SES v1 action the server answers (the server runs in this process)."""
    from moto.ses.responses import EmailResponse

    seen: list[str] = []
    real = EmailResponse.call_action

    def call_action(self: Any) -> Any:
        seen.append(self._get_action())
        return real(self)

    monkeypatch.setattr(EmailResponse, "call_action", call_action)
    return seen


def letterhead(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LETTERHEAD), *args], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_subprocess_against_moto_server(project: Path, moto_url: str, server_actions: list[str],
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SES_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "AKIAFAKEKEYFORTEST9", "AWS_SECRET_ACCESS_KEY": "fake-secret-never-printed",
        "AWS_REGION": REGION, "AWS_ENDPOINT_URL_SES": moto_url, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "SES_SENDER_EMAIL": SENDER, "SES_CONFIGURATION_SET": "letterhead",
    })

    before = letterhead("doctor", cwd=project, env=env)
    assert before.returncode == 2, before.stderr
    assert "✗ sender identity" in before.stdout and f"endpoint {moto_url}" in before.stdout

    first = letterhead("setup", cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    assert "set up: 3 change(s) made" in first.stdout
    assert {"VerifyEmailIdentity", "CreateConfigurationSet",
            "CreateConfigurationSetEventDestination"} <= set(server_actions)

    server_actions.clear()
    second = letterhead("setup", cwd=project, env=env)
    assert second.returncode == 0, second.stderr
    assert "nothing to change" in second.stdout
    assert server_actions and not set(server_actions) & acc.WRITE_OPERATIONS

    server_actions.clear()
    dry = letterhead("setup", "--dry-run", "--sns-topic", "arn:aws:sns:us-east-1:123456789012:alerts",
                     cwd=project, env=env)
    assert dry.returncode == 0 and "would add SNS destination" in dry.stdout
    assert not set(server_actions) & acc.WRITE_OPERATIONS

    boto3.client("ses", region_name=REGION, endpoint_url=moto_url).create_template(
        **template("welcome").to_json())
    after = letterhead("doctor", "--json", cwd=project, env=env)
    assert after.returncode == 0, after.stdout + after.stderr
    report = json.loads(after.stdout)
    assert report["ok"] is True and report["warnings"] == ["sandbox"]
    assert "fake-secret" not in after.stdout

    inject_statistics(monkeypatch, stats_points("bounce_24h"))
    stats = letterhead("stats", cwd=project, env=env)
    assert stats.returncode == 2, stats.stderr
    assert "bounce rate 12.00 %" in stats.stderr and "█" in stats.stdout
