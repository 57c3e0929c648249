"""events/journal.py, and what reads it: ``letterhead stats --live`` and
doctor's "events flowing" check.

The journal is a real SQLite file in ``tmp_path``; its clock is injected so
that windows and retention are exact (no sleeping, no timing assertions).
stats and doctor run over moto in process, with the fixtures of
test_account.py; the CLI through click's CliRunner.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from letterhead import account as acc
from letterhead.account.doctor import check_events
from letterhead.cli import account as cli_account
from letterhead.config import load_config
from letterhead.events.journal import DEFAULT_RETENTION, PRUNE_EVERY, Journal, SentRecord, data_paths
from letterhead.events.model import SesEvent

from .test_account import (  # noqa: F401  (account and clients are fixtures)
    SENDER,
    account,
    by_key,
    clients,
    creds,
    fake_aws_env,
    inject_statistics,
    make_project,
    settings,
    stats_points,
)

NOW = datetime(2031, 5, 6, 12, 0, tzinfo=UTC)
ADDRESSES = ("alice.secret@example.org", "Bob.Hidden@Example.COM", "carol+tag@kids.example")
DATA = {"accept_url": "https://app.example/accept?token=tok-8d1f3e", "inviter": {"name": "Dana Private"},
        "children": [{"name": "Eve Child", "age": 7}, {"name": "Finn Child"}], "note": None,
        "scores": {"grace@example.net": 3}}


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def event(kind: str, message_id: str, recipient: str | None = None, at: datetime = NOW, **kw: Any) -> SesEvent:
    return SesEvent(kind, message_id, at, recipient=recipient, **kw)  # type: ignore[arg-type]


def bounce(message_id: str, recipient: str, at: datetime = NOW) -> SesEvent:
    return event("bounce", message_id, recipient, at, bounce_type="Permanent", bounce_subtype="General",
                 diagnostic=f"550 5.1.1 <{recipient}>: user unknown")


def file_bytes(path: Path) -> bytes:
    """The database and its WAL and shared-memory files, as bytes."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "events.sqlite3"


# -- the journal -----------------------------------------------------------------------------


def test_record_send_keeps_the_template_and_the_data_paths(db: Path) -> None:
    with Journal(db, clock=Clock()) as journal:
        assert journal.sent("m-1") is None
        journal.record_send("m-1", "coparent_invitation", ADDRESSES[:2], DATA)
        record = journal.sent("m-1")
    assert record == SentRecord("coparent_invitation", frozenset({
        "accept_url", "inviter", "inviter.name", "children", "children[]", "children[].name", "scores"}), NOW)
    assert Journal(db).sent("m-1") == record  # another Journal (process) reads it


@pytest.mark.parametrize(("data", "paths"), [
    ({"name": "x", "gone": None}, {"name"}),
    ({"days": []}, {"days"}),  # an empty list: its items' fields are unknown
    ({"days": [{"date": "d", "title": "t"}, {"date": "e"}]}, {"days", "days[]", "days[].date"}),
    ({"tags": ["a", None]}, {"tags"}),  # a null item: the items are not all there
    ({"grid": [[1], [2]]}, {"grid", "grid[]"}),
    ({"odd key": {"x": 1}}, {"[odd key]", "[odd key].x"}),  # the contract's notation
    ({"by_address": {"a@b.example": {"n": 1}}}, {"by_address"}),  # an address as a key is left out
])
def test_data_paths(data: dict[str, Any], paths: set[str]) -> None:
    assert data_paths(data) == paths


def test_record_event_dedupes_message_kind_and_recipient(db: Path) -> None:
    journal = Journal(db, clock=Clock())
    assert journal.record_event(bounce("m-1", ADDRESSES[0])) is True
    assert journal.record_event(bounce("m-1", ADDRESSES[0])) is False  # SQS delivered it again
    assert journal.record_event(bounce("m-1", ADDRESSES[0].upper())) is False  # addresses compare lower-cased
    assert journal.record_event(bounce("m-1", ADDRESSES[1])) is True  # another recipient
    assert journal.record_event(event("complaint", "m-1", ADDRESSES[0])) is True  # another kind
    assert journal.record_event(bounce("m-2", ADDRESSES[0])) is True  # another message
    assert journal.record_event(event("rendering_failure", "m-3")) is True
    assert journal.record_event(event("rendering_failure", "m-3")) is False
    assert journal.counts(NOW - timedelta(hours=1))["bounce"] == 3
    # a handler failed: the consumer forgets the event, so the redelivery is handled
    assert journal.forget_event(bounce("m-2", ADDRESSES[0])) is True
    assert journal.forget_event(bounce("m-2", ADDRESSES[0])) is False
    assert journal.record_event(bounce("m-2", ADDRESSES[0])) is True


def test_counts_per_kind_in_a_window(db: Path) -> None:
    clock = Clock(NOW - timedelta(hours=30))
    journal = Journal(db, clock=clock)
    journal.record_send("old", "welcome", ADDRESSES, {})  # 30 hours ago: outside the last 24 hours
    clock.now = NOW - timedelta(hours=2)
    journal.record_send("m-1", "welcome", ADDRESSES, {})  # three recipients: three delivery attempts
    journal.record_send("m-2", "welcome", ADDRESSES[:1], {})
    journal.record_event(bounce("old", ADDRESSES[0], NOW - timedelta(hours=29)))
    journal.record_event(bounce("m-1", ADDRESSES[0], NOW - timedelta(hours=1)))
    journal.record_event(event("complaint", "m-1", ADDRESSES[1], NOW - timedelta(minutes=30)))
    journal.record_event(event("delivery", "m-2", ADDRESSES[0], NOW - timedelta(minutes=50)))
    journal.record_event(event("delivery_delay", "m-1", ADDRESSES[2], NOW - timedelta(minutes=40)))
    counts = journal.counts(NOW - timedelta(hours=24))
    assert counts == {"send": 4, "delivery": 1, "bounce": 1, "complaint": 1, "reject": 0, "delivery_delay": 1,
                      "rendering_failure": 0}
    assert journal.counts(NOW - timedelta(days=2))["send"] == 7
    assert journal.counts(NOW - timedelta(hours=24), NOW - timedelta(minutes=45))["complaint"] == 0


def test_a_send_known_only_from_ses_counts_once(db: Path) -> None:
    journal = Journal(db, clock=Clock())
    send = event("send", "m-9", at=NOW - timedelta(minutes=5),
                 raw={"mail": {"destination": list(ADDRESSES[:2])}})
    assert journal.record_event(send) is True
    assert journal.counts(NOW - timedelta(hours=1))["send"] == 2  # SES names two recipients
    assert journal.sent("m-9") is None  # its data is unknown
    journal.record_send("m-9", "welcome", ADDRESSES[:2], {"name": "x"})  # the Mailer's record fills it in
    assert journal.counts(NOW - timedelta(hours=1))["send"] == 2
    assert journal.sent("m-9") == SentRecord("welcome", frozenset({"name"}), NOW - timedelta(minutes=5))
    assert journal.record_event(send) is False


def test_last_event_and_last_send_are_when_they_were_recorded(db: Path) -> None:
    clock = Clock(NOW - timedelta(hours=3))
    journal = Journal(db, clock=clock)
    assert journal.last_event_at() is None and journal.last_send_at() is None
    journal.record_send("m-1", "welcome", ADDRESSES[:1], {})
    clock.now = NOW
    journal.record_event(bounce("m-1", ADDRESSES[0], NOW - timedelta(hours=2)))  # SES's time
    assert journal.last_event_at() == NOW  # arrival, which says the consumer runs
    assert journal.last_send_at() == NOW - timedelta(hours=3)


def test_the_file_holds_no_data_value_and_no_address(db: Path) -> None:
    journal = Journal(db, clock=Clock())
    for i in range(3):
        journal.record_send(f"m-{i}", "coparent_invitation", ADDRESSES, DATA)
        for address in ADDRESSES:
            journal.record_event(bounce(f"m-{i}", address))
            journal.record_event(event("complaint", f"m-{i}", address, complaint_type="abuse"))
    raw = file_bytes(db)
    journal.close()
    raw += file_bytes(db)
    assert b"children[].name" in raw and b"coparent_invitation" in raw  # the scan reads the real content
    secrets = [*ADDRESSES, "alice.secret", "Bob.Hidden", "bob.hidden", "kids.example", "example.org",
               "tok-8d1f3e", "Dana Private", "Eve Child", "Finn Child", "grace@example.net", "user unknown"]
    for secret in secrets:
        assert secret.encode() not in raw and secret.lower().encode() not in raw, secret


def test_reads_of_a_missing_database_create_nothing(db: Path) -> None:
    journal = Journal(db)
    assert journal.sent("m-1") is None
    assert journal.counts(NOW - timedelta(days=1)) == dict.fromkeys(journal.counts(NOW), 0)
    assert journal.last_event_at() is None and journal.last_send_at() is None
    assert journal.prune(NOW) == 0 and journal.forget_event(bounce("m-1", ADDRESSES[0])) is False
    journal.close()
    assert not db.exists() and not db.parent.exists()


def test_the_first_write_makes_the_folder_and_a_wal_database(db: Path) -> None:
    Journal(db).record_send("m-1", "welcome", ADDRESSES[:1], {})
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_file_is_shared_with_other_tables(db: Path) -> None:
    """The suppression list keeps its table in the same file: a journal reads
    such a file as empty, then adds its own tables beside."""
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE other_suppressions (address TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO other_suppressions VALUES ('x')")
    journal = Journal(db, clock=Clock())
    assert journal.counts(NOW - timedelta(days=1))["send"] == 0 and journal.sent("m-1") is None
    journal.record_send("m-1", "welcome", ADDRESSES[:1], {})
    assert journal.counts(NOW - timedelta(days=1))["send"] == 1
    journal.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT address FROM other_suppressions").fetchall() == [("x",)]


def test_one_journal_shared_by_threads(db: Path) -> None:
    journal = Journal(db, clock=Clock())
    new: list[bool] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(100):
                journal.record_send(f"t{n}-{i}", "welcome", ADDRESSES[:1], {"name": "x"})
                # every pair of threads records the same bounces: each is new exactly once
                seen = journal.record_event(bounce(f"shared-{n // 2}-{i}", ADDRESSES[0]))
                with lock:
                    new.append(seen)
                journal.counts(NOW - timedelta(hours=1))
        except BaseException as exc:  # a failure in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert new.count(True) == 400 and new.count(False) == 400
    assert journal.counts(NOW - timedelta(hours=1)) | {"send": 800, "bounce": 400} == \
        journal.counts(NOW - timedelta(hours=1))


def test_prune_and_the_default_retention(db: Path) -> None:
    clock = Clock(NOW - timedelta(days=40))
    journal = Journal(db, clock=clock, retention=None)  # keeps everything
    journal.record_send("ancient", "welcome", ADDRESSES[:1], {})
    journal.record_event(bounce("ancient", ADDRESSES[0], clock.now))
    clock.now = NOW - timedelta(days=10)
    journal.record_send("recent", "welcome", ADDRESSES[:1], {})
    journal.record_event(bounce("recent", ADDRESSES[0], clock.now))
    assert journal.counts(NOW - timedelta(days=60))["send"] == 2
    journal.close()
    # a Journal with the default retention (30 days) prunes on its first write
    assert DEFAULT_RETENTION.days == 30
    fresh = Journal(db, clock=Clock())
    fresh.record_event(event("delivery", "recent", ADDRESSES[0]))
    assert fresh.sent("ancient") is None and fresh.sent("recent") is not None
    assert fresh.counts(NOW - timedelta(days=60)) | {"send": 1, "bounce": 1} == fresh.counts(NOW - timedelta(days=60))
    assert fresh.prune(NOW - timedelta(days=5)) == 2  # the recent send and its bounce
    assert fresh.counts(NOW - timedelta(days=60))["send"] == 0


def test_an_old_event_arriving_now_stays_a_duplicate_until_its_own_retention(db: Path) -> None:
    """Retention counts from when an event arrived, not SES's timestamp: a
    40-day-old bounce redelivered today is still recognised."""
    journal = Journal(db, clock=Clock(NOW))
    old = bounce("late", ADDRESSES[0], NOW - timedelta(days=40))
    assert journal.record_event(old) is True
    journal.record_send("x", "welcome", ADDRESSES[:1], {})  # another write, pruning by the default retention
    assert journal.prune(NOW - DEFAULT_RETENTION) == 0
    assert journal.record_event(old) is False


def test_the_retention_applies_again_every_so_many_writes(db: Path) -> None:
    clock = Clock(NOW - timedelta(days=31))
    journal = Journal(db, clock=clock)
    journal.record_send("stale", "welcome", ADDRESSES[:1], {})  # the first write prunes nothing yet
    clock.now = NOW
    for i in range(PRUNE_EVERY - 1):
        journal.record_event(event("delivery", f"m-{i}", ADDRESSES[0]))
    assert journal.sent("stale") is not None
    journal.record_event(event("delivery", "last", ADDRESSES[0]))  # write number PRUNE_EVERY + 1
    assert journal.sent("stale") is None


# -- letterhead stats --live -----------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    fake_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SES_SENDER_EMAIL", SENDER)
    monkeypatch.setenv("SES_CONFIGURATION_SET", "letterhead")
    monkeypatch.delenv("LETTERHEAD_EVENTS_DB", raising=False)
    return make_project(tmp_path / "project")


def journal_of(project: Path, clock: Clock | None = None) -> Journal:
    return Journal(load_config(project, environ={}).events.database, clock=clock or Clock(datetime.now(UTC)))


def fill(journal: Journal, sends: int, bounces: int = 0, complaints: int = 0) -> None:
    now = datetime.now(UTC) - timedelta(hours=1)
    for i in range(sends):
        journal.record_send(f"m-{i}", "welcome", ADDRESSES[:1], {"name": "x"})
    for i in range(bounces):
        journal.record_event(bounce(f"m-{i}", ADDRESSES[0], now))
    for i in range(complaints):
        journal.record_event(event("complaint", f"m-{sends - 1 - i}", ADDRESSES[0], now))
    journal.close()


def run(command: Any, project: Path, *args: str) -> Result:
    return CliRunner().invoke(command, ["--root", str(project), *args])


def test_stats_live_over_the_bounce_threshold_exits_2(project: Path, moto: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    inject_statistics(monkeypatch, stats_points("healthy"))  # SES's buckets are fine
    fill(journal_of(project), sends=10, bounces=2)
    assert run(cli_account.stats, project).exit_code == 0  # without --live, nothing read
    result = run(cli_account.stats, project, "--live")
    assert result.exit_code == 2, result.output
    assert "bounce rate 20.00 % over the last 24 hours of events" in result.stderr
    assert "last 24 hours of events" in result.stdout and "last event recorded" in result.stdout
    data = json.loads(run(cli_account.stats, project, "--live", "--json").stdout)
    live = data["live"]
    assert (live["delivery_attempts"], live["bounces"], live["complaints"]) == (10, 2, 0)
    assert live["bounce_rate"] == pytest.approx(0.2) and live["complaint_rate"] == 0
    assert live["events"]["bounce"] == 2 and live["database"].endswith("events.sqlite3")
    assert live["last_event"] is not None
    assert data["ok"] is False and any("events" in b for b in data["breaches"])
    assert data["windows"]["last_24_hours"]["bounce_rate"] < 0.05  # SES's own window is still there
    assert run(cli_account.stats, project, "--live", "--max-bounce-rate", "25").exit_code == 0


def test_stats_live_complaints_and_a_healthy_journal(project: Path, moto: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    inject_statistics(monkeypatch, stats_points("healthy"))
    fill(journal_of(project), sends=500, bounces=5)
    assert run(cli_account.stats, project, "--live").exit_code == 0
    fill(journal_of(project), sends=500, complaints=1)  # the same 500 messages, 1 complaint: 0.2 %
    result = run(cli_account.stats, project, "--live", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["live"]["complaints"] == 1
    result = run(cli_account.stats, project, "--live")
    assert "complaint rate 0.200 % over the last 24 hours of events" in result.stderr


def test_stats_live_without_a_journal_says_so_and_creates_nothing(project: Path, moto: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inject_statistics(monkeypatch, stats_points("healthy"))
    result = run(cli_account.stats, project, "--live")
    assert result.exit_code == 0, result.output
    assert "no event recorded yet" in result.stdout and "letterhead events poll" in result.stdout
    assert not (project / ".letterhead").exists()
    data = json.loads(run(cli_account.stats, project, "--live", "--json").stdout)
    assert data["live"]["delivery_attempts"] == 0 and data["live"]["bounce_rate"] is None


def test_stats_live_on_a_file_that_is_not_a_database_is_an_error(project: Path, moto: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    inject_statistics(monkeypatch, stats_points("healthy"))
    broken = project / ".letterhead" / "events.sqlite3"
    broken.parent.mkdir()
    broken.write_bytes(b"not a database at all" * 100)
    result = run(cli_account.stats, project, "--live")
    assert result.exit_code == 1 and "INTERNAL" not in result.output
    assert "events journal" in result.stderr and "LETTERHEAD_EVENTS_DB" in result.stderr


# -- doctor: events flowing -------------------------------------------------------------------


def test_doctor_events_check_before_any_send(account: acc.Account, project: Path) -> None:
    config = load_config(project, environ={})
    check = by_key(acc.doctor(settings(), creds(), lambda: account, config=config))["events"]
    assert check.status == acc.SKIP and "no sends recorded yet" in check.summary
    assert check.title == "events flowing"
    assert not config.events.database.exists()  # doctor reads only


def test_doctor_warns_when_sends_are_recorded_but_no_event_arrives(account: acc.Account, project: Path) -> None:
    config = load_config(project, environ={})
    fill(journal_of(project, Clock(NOW - timedelta(hours=3))), sends=4)
    report = acc.doctor(settings(), creds(), lambda: account, config=config, now=NOW)
    check = by_key(report)["events"]
    assert check.status == acc.WARN and "4 send(s)" in check.summary and "none ever" in check.summary
    assert "letterhead events poll" in (check.fix or "") and "docs/events.md" in (check.fix or "")
    assert "events" in {c.key for c in report.warnings}
    # events that stopped: the last one arrived two days ago
    stale = journal_of(project, Clock(NOW - timedelta(days=2)))
    stale.record_event(bounce("m-0", ADDRESSES[0], NOW - timedelta(days=2)))
    stale.close()
    check = check_events(journal_of(project), now=NOW)
    assert check.status == acc.WARN and "none since" in check.summary


def test_doctor_is_ok_when_events_arrive(account: acc.Account, project: Path) -> None:
    config = load_config(project, environ={})
    journal = journal_of(project, Clock(NOW - timedelta(hours=3)))
    fill(journal, sends=4)
    journal = journal_of(project, Clock(NOW - timedelta(hours=2)))
    journal.record_event(event("delivery", "m-0", ADDRESSES[0], NOW - timedelta(hours=2)))
    journal.record_event(bounce("m-1", ADDRESSES[0], NOW - timedelta(hours=2)))
    journal.close()
    check = by_key(acc.doctor(settings(), creds(), lambda: account, config=config, now=NOW))["events"]
    assert check.status == acc.OK and "last event 2 h ago" in check.summary and "4 send" in check.summary
    # a quiet day after that is fine too
    check = check_events(journal_of(project), now=NOW + timedelta(days=3))
    assert check.status == acc.OK and "no sends in the last 24 hours" in check.summary


def test_doctor_cli_prints_the_events_warning_with_its_fix(project: Path, moto: None) -> None:
    assert run(cli_account.setup, project).exit_code == 0
    fill(journal_of(project, Clock(datetime.now(UTC) - timedelta(hours=1))), sends=3)
    result = run(cli_account.doctor, project)
    assert "! events flowing" in result.stdout and "letterhead events poll" in result.stdout
    strict = run(cli_account.doctor, project, "--strict", "--json")
    assert strict.exit_code == 2 and "events" in json.loads(strict.stdout)["warnings"]


def test_doctor_events_check_runs_without_aws(project: Path) -> None:
    """The journal is local: no credentials still checks it."""
    config = load_config(project, environ={})
    fill(journal_of(project, Clock(NOW - timedelta(hours=3))), sends=2)
    report = acc.doctor(settings(), acc.CredentialInfo(False), lambda: acc.Account(None, None), config=config,
                        now=NOW)
    assert by_key(report)["events"].status == acc.WARN
    assert by_key(report)["quota"].status == acc.SKIP


@pytest.mark.parametrize("table, expected", [
    ("", False),  # events not consumed: no file written by sends
    ('topics = ["arn:aws:sns:us-east-1:123456789012:ses-events"]', True),  # consumed: sends are journalled
    ('topics = ["arn:aws:sns:us-east-1:123456789012:ses-events"]\njournal = false', False),
    ("journal = true", True),
])
def test_the_mailer_keeps_the_journal_once_events_are_consumed(tmp_path: Path, table: str, expected: bool) -> None:
    from letterhead.sending import Mailer

    root = make_project(tmp_path / "project")
    with (root / "pyproject.toml").open("a") as f:
        f.write(f"\n[tool.letterhead.events]\n{table}\n")
    config = load_config(root)
    mailer = Mailer.from_config(config, transport="outbox", sender_email="noreply@example.com")
    assert isinstance(mailer.journal, Journal) is expected
    if expected:
        assert mailer.journal.path == config.events.database  # type: ignore[union-attr]


def test_a_journal_setting_that_is_not_a_boolean_is_refused(tmp_path: Path) -> None:
    from letterhead.errors import ConfigError

    root = make_project(tmp_path / "project")
    with (root / "pyproject.toml").open("a") as f:
        f.write('\n[tool.letterhead.events]\njournal = "yes"\n')
    with pytest.raises(ConfigError, match="journal must be true or false"):
        load_config(root).events  # noqa: B018
