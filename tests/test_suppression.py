"""Suppression (issue 16): the stores (SQLite; SES's account-level list,
through botocore's Stubber since moto has no suppression API), the Mailer
refusing suppressed recipients before SES (moto in-process), the journal
told of every send, and ``letterhead suppression list|add|remove``."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from letterhead.config import EventSettings
from letterhead.errors import AccessDeniedError, RecipientSuppressed, RemoteError
from letterhead.events.suppression import (
    SesSuppressions,
    SqliteSuppressions,
    SuppressionStore,
    open_suppressions,
)
from letterhead.sending.mailer import Mailer, Recipient

from .helpers import make_project, run_cli
from .send_support import REGION, SES_DIR, all_log_text, make_mailer, recorded_destinations

DATA = {"code": "739214", "email": "x@example.org", "expires_at": "14:32 UTC"}
T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


# --- SQLite --------------------------------------------------------------------------------------------


def test_sqlite_reads_of_a_missing_database_create_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state" / "events.sqlite3"
    store = SqliteSuppressions(path)
    assert store.get("ada@example.org") is None
    assert list(store) == [] and len(store) == 0
    assert store.remove("ada@example.org") is False
    assert not path.parent.exists()
    assert isinstance(store, SuppressionStore)


def test_sqlite_add_is_idempotent_keeps_the_first_and_ignores_case(tmp_path: Path) -> None:
    path = tmp_path / "state" / "events.sqlite3"
    store = SqliteSuppressions(path, now=lambda: T0)
    first = store.add("  Ada.Lovelace@Example.ORG ", "bounce", message_id="m-1", detail="General")
    again = store.add("ada.lovelace@example.org", "complaint", message_id="m-2")
    assert first == again
    assert (first.address, first.reason, first.since, first.message_id, first.detail) == \
        ("ada.lovelace@example.org", "bounce", T0, "m-1", "General")
    assert store.get("ADA.LOVELACE@example.org") == first
    assert len(store) == 1
    with sqlite3.connect(path) as conn:  # the file other tools read
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT address, reason FROM suppressions").fetchall() == \
            [("ada.lovelace@example.org", "bounce")]
    # an international domain is keyed as letterhead sends to it (punycode)
    store.add("ada@bücher.example", "manual")
    assert store.get("ada@xn--bcher-kva.example") is not None


def test_sqlite_iterates_oldest_first_and_removes(tmp_path: Path) -> None:
    store = SqliteSuppressions(tmp_path / "s.sqlite3")
    store.add("c@example.org", "complaint", since=T0 + timedelta(days=2))
    store.add("a@example.org", "bounce", since=T0 + timedelta(days=3))
    store.add("b@example.org", "manual", since=T0)
    assert [s.address for s in store] == ["b@example.org", "c@example.org", "a@example.org"]
    assert store.remove("C@Example.org") is True and store.remove("c@example.org") is False
    assert [s.address for s in store] == ["b@example.org", "a@example.org"]


def test_sqlite_shares_the_file_with_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with sqlite3.connect(path) as conn:  # e.g. the journal, before any suppression
        conn.execute("CREATE TABLE sends (message_id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO sends VALUES ('m-1')")
    store = SqliteSuppressions(path)
    assert store.get("a@example.org") is None and list(store) == [] and store.remove("a@example.org") is False
    store.add("a@example.org", "bounce")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT message_id FROM sends").fetchall() == [("m-1",)]
    assert SqliteSuppressions(path).get("a@example.org") is not None  # another connection (process) sees it


def test_sqlite_is_safe_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    store = SqliteSuppressions(path)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(40):
                store.add(f"user{i}@example.org", "bounce", message_id=f"t{t}")  # every thread adds the same 40
                store.add(f"t{t}-{i}@example.org", "complaint")
                assert store.get(f"t{t}-{i}@example.org") is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    entries = list(SqliteSuppressions(path))
    assert len(entries) == 40 + 8 * 40
    assert Counter(s.reason for s in entries) == {"bounce": 40, "complaint": 320}


def test_open_suppressions_follows_the_settings(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite3"
    assert open_suppressions(EventSettings(database=db, suppression="off")) is None
    sqlite_store = open_suppressions(EventSettings(database=db))
    assert isinstance(sqlite_store, SqliteSuppressions) and sqlite_store.path == db
    ses_store = open_suppressions(EventSettings(database=db, suppression="ses"), region=REGION)
    assert isinstance(ses_store, SesSuppressions) and ses_store.region == REGION
    assert not db.exists()


# --- SES's account-level list (Stubber: moto has no suppression API) ---------------------------------


def sesv2() -> tuple[Any, Stubber]:
    c = boto3.client("sesv2", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    stub = Stubber(c)
    stub.activate()
    return c, stub


def not_found(stub: Stubber, operation: str, address: str) -> None:
    stub.add_client_error(operation, service_error_code="NotFoundException", service_message="not found",
                          http_status_code=404, expected_params={"EmailAddress": address})


def test_ses_get_reads_the_entry_and_caches_answers() -> None:
    c, stub = sesv2()
    stub.add_response("get_suppressed_destination", {"SuppressedDestination": {
        "EmailAddress": "ada@example.org", "Reason": "COMPLAINT", "LastUpdateTime": T0,
        "Attributes": {"MessageId": "m-1", "FeedbackId": "f-1"}}}, {"EmailAddress": "ada@example.org"})
    not_found(stub, "get_suppressed_destination", "bob@example.org")
    now = [0.0]
    store = SesSuppressions(c, cache_seconds=60, clock=lambda: now[0])
    entry = store.get("Ada@Example.org")
    assert entry is not None and (entry.address, entry.reason, entry.since, entry.message_id) == \
        ("ada@example.org", "complaint", T0, "m-1")
    assert store.get("bob@example.org") is None
    # cached: no more calls (the Stubber would refuse one)
    assert store.get("ada@example.org") == entry and store.get("BOB@example.org") is None
    stub.assert_no_pending_responses()
    now[0] = 61.0  # expired: asked again
    not_found(stub, "get_suppressed_destination", "bob@example.org")
    assert store.get("bob@example.org") is None
    stub.assert_no_pending_responses()
    assert isinstance(store, SuppressionStore)


def test_ses_add_puts_only_new_addresses_manual_as_bounce() -> None:
    c, stub = sesv2()
    not_found(stub, "get_suppressed_destination", "ada@example.org")
    stub.add_response("put_suppressed_destination", {}, {"EmailAddress": "ada@example.org", "Reason": "BOUNCE"})
    stub.add_response("get_suppressed_destination", {"SuppressedDestination": {
        "EmailAddress": "bob@example.org", "Reason": "BOUNCE", "LastUpdateTime": T0}},
        {"EmailAddress": "bob@example.org"})
    not_found(stub, "get_suppressed_destination", "cy@example.org")
    stub.add_response("put_suppressed_destination", {}, {"EmailAddress": "cy@example.org", "Reason": "COMPLAINT"})
    store = SesSuppressions(c)
    assert store.add("Ada@example.org", "manual").reason == "bounce"
    kept = store.add("bob@example.org", "complaint")  # already listed: SES's entry kept, no put
    assert (kept.reason, kept.since) == ("bounce", T0)
    assert store.add("cy@example.org", "complaint", message_id="m-9").reason == "complaint"
    assert store.get("ada@example.org") is not None  # from the cache the add filled
    stub.assert_no_pending_responses()


def test_ses_remove_says_whether_it_was_there() -> None:
    c, stub = sesv2()
    stub.add_response("delete_suppressed_destination", {}, {"EmailAddress": "ada@example.org"})
    not_found(stub, "delete_suppressed_destination", "ada@example.org")
    store = SesSuppressions(c)
    assert store.remove("ADA@example.org") is True
    assert store.remove("ada@example.org") is False
    assert store.get("ada@example.org") is None  # the cache knows it is gone: no call
    stub.assert_no_pending_responses()


def test_ses_list_reads_every_page_oldest_first() -> None:
    c, stub = sesv2()
    stub.add_response("list_suppressed_destinations", {"SuppressedDestinationSummaries": [
        {"EmailAddress": "b@example.org", "Reason": "BOUNCE", "LastUpdateTime": T0 + timedelta(days=1)},
        {"EmailAddress": "c@example.org", "Reason": "COMPLAINT", "LastUpdateTime": T0 + timedelta(days=3)}],
        "NextToken": "page-2"}, {"PageSize": 1000})
    stub.add_response("list_suppressed_destinations", {"SuppressedDestinationSummaries": [
        {"EmailAddress": "a@example.org", "Reason": "BOUNCE", "LastUpdateTime": T0}]},
        {"PageSize": 1000, "NextToken": "page-2"})
    entries = list(SesSuppressions(c))
    assert [(s.address, s.reason) for s in entries] == \
        [("a@example.org", "bounce"), ("b@example.org", "bounce"), ("c@example.org", "complaint")]
    stub.assert_no_pending_responses()


def test_ses_errors_are_translated_with_the_fix_and_no_address() -> None:
    c, stub = sesv2()
    stub.add_client_error("list_suppressed_destinations", service_error_code="AccessDeniedException",
                          service_message="not allowed", http_status_code=403)
    stub.add_client_error("get_suppressed_destination", service_error_code="BadRequestException",
                          service_message="Invalid address amira.haddad@example.com", http_status_code=400)
    store = SesSuppressions(c)
    with pytest.raises(AccessDeniedError) as denied:
        list(store)
    assert "ses:ListSuppressedDestinations" in (denied.value.hint or "")
    with pytest.raises(RemoteError) as bad:
        store.get("amira.haddad@example.com")
    assert "amira" not in str(bad.value) and "example.com" in str(bad.value)


# --- the Mailer ----------------------------------------------------------------------------------------


class FakeJournal:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str, tuple[str, ...], dict[str, Any]]] = []

    def record_send(self, message_id: str, template: str, recipients: Any, data: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.calls.append((message_id, template, tuple(recipients), dict(data)))


@pytest.mark.aws
def test_mailer_refuses_a_suppressed_recipient_before_ses(moto_ses: Any, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    c, backend = moto_ses
    store = SqliteSuppressions(tmp_path / "events.sqlite3", now=lambda: T0)
    store.add("Amira.Haddad@example.com", "bounce", message_id="0100-bounced")
    journal = FakeJournal()
    mailer = make_mailer(c, suppressions=store, journal=journal)
    caplog.set_level(logging.INFO, logger="letterhead")
    with pytest.raises(RecipientSuppressed) as exc:
        mailer.send("email_verification", "amira.haddad@example.com", DATA)
    text = str(exc.value)
    assert "bounced permanently" in text and "2024-05-01" in text and "0100-bounced" in text
    assert "letterhead suppression remove" in (exc.value.hint or "")
    assert exc.value.suppression == store.get("amira.haddad@example.com")
    with pytest.raises(RecipientSuppressed, match="recipient #2 is on the suppression list"):
        mailer.send("email_verification", ["ok@example.org", "AMIRA.HADDAD@example.com"], DATA)
    assert backend.sent_messages == [] and journal.calls == []
    logs = all_log_text(caplog.records)
    assert "status=suppressed" in logs and "recipient_domain=example.com" in logs
    assert "amira" not in logs.lower() and "amira" not in text.lower()


@pytest.mark.aws
def test_mailer_journals_each_send_and_survives_a_failing_journal(moto_ses: Any,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    c, backend = moto_ses
    journal = FakeJournal()
    message_id = make_mailer(c, journal=journal).send("email_verification", "ada@example.org", DATA)
    assert journal.calls == [(message_id, "email_verification", ("ada@example.org",), DATA)]
    broken = make_mailer(c, journal=FakeJournal(fail=True))
    caplog.set_level(logging.WARNING, logger="letterhead")
    second = broken.send("email_verification", "bob@example.org", DATA)
    assert second and len(backend.sent_messages) == 2
    warning = all_log_text(caplog.records)
    assert "journal" in warning and second in warning and "bob" not in warning


@pytest.mark.aws
def test_bulk_settles_a_suppressed_recipient_and_sends_the_others(moto_ses: Any, tmp_path: Path) -> None:
    c, backend = moto_ses
    store = SqliteSuppressions(tmp_path / "events.sqlite3")
    store.add("user2@example.org", "complaint")
    journal = FakeJournal()
    mailer = make_mailer(c, suppressions=store, journal=journal)
    people = [Recipient(f"user{i}@example.org", {"code": f"00000{i}"}, key=i) for i in range(5)]
    result = mailer.send_bulk("email_verification", people, default_data=DATA, workers=2)
    assert result.counts["sent"] == 4 and result.counts["suppressed"] == 1
    [refused] = [s for s in result.statuses if s.status == "suppressed"]
    assert refused.key == 2 and isinstance(refused.error, RecipientSuppressed)
    assert "complained" in refused.error.message and "user2" not in refused.error.message
    assert refused in result.not_sent and not result.ok
    assert recorded_destinations(backend.sent_messages) == Counter(f"user{i}@example.org" for i in (0, 1, 3, 4))
    # the journal got each sent message with that recipient's own (merged) data
    assert sorted((to, data["code"]) for _, _, to, data in journal.calls) == \
        [(("user0@example.org",), "000000"), (("user1@example.org",), "000001"),
         (("user3@example.org",), "000003"), (("user4@example.org",), "000004")]
    assert {mid for mid, *_ in journal.calls} == {s.message_id for s in result.sent}


def _app(tmp_path: Path, pyproject: str = "") -> Path:
    root = tmp_path / "app"
    (root / "ses_templates").mkdir(parents=True)
    for p in SES_DIR.glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\n' + pyproject)
    return root


@pytest.mark.aws
def test_from_env_checks_the_configured_store_without_creating_it(moto_ses: Any, tmp_path: Path) -> None:
    c, backend = moto_ses
    root = _app(tmp_path)
    environ = {"SES_SENDER_EMAIL": "noreply@calndr.club", "AWS_REGION": REGION}
    mailer = Mailer.from_env(root, environ=environ, client=c)
    assert isinstance(mailer.suppressions, SqliteSuppressions)
    assert mailer.suppressions.path == root / ".letterhead" / "events.sqlite3"
    mailer.send("email_verification", "ada@example.org", DATA)
    assert not (root / ".letterhead").exists()  # a send only reads
    SqliteSuppressions(root / ".letterhead" / "events.sqlite3").add("ada@example.org", "bounce")  # the consumer
    with pytest.raises(RecipientSuppressed):
        mailer.send("email_verification", "ada@example.org", DATA)
    assert len(backend.sent_messages) == 1
    off = Mailer.from_env(root, environ={**environ, "LETTERHEAD_SUPPRESSION": "off"}, client=c)
    assert off.suppressions is None
    off.send("email_verification", "ada@example.org", DATA)
    assert len(backend.sent_messages) == 2


# --- the command line ----------------------------------------------------------------------------------


def _cli(root: Path, *args: str) -> Any:
    from letterhead.cli.suppression import suppression

    return CliRunner().invoke(suppression, [*args, "--root", str(root)])


def test_cli_add_list_remove(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    db = root / ".letterhead" / "events.sqlite3"
    empty = _cli(root, "list")
    assert empty.exit_code == 0 and "no suppressed addresses" in empty.output and not db.exists()
    added = _cli(root, "add", "Ada@Example.org", "--reason", "complaint")
    assert added.exit_code == 0, added.output
    assert "suppressed ada@example.org (complaint" in added.output
    again = _cli(root, "add", "ada@example.org", "--json")
    assert again.exit_code == 0 and json.loads(again.output)["added"] is False
    assert json.loads(again.output)["suppression"]["reason"] == "complaint"  # the first entry kept
    listed = json.loads(_cli(root, "list", "--json").output)
    assert listed["ok"] and listed["count"] == 1 and listed["suppressions"][0]["address"] == "ada@example.org"
    assert SqliteSuppressions(db).get("ada@example.org") is not None
    removed = _cli(root, "remove", "ADA@example.org")
    assert removed.exit_code == 0 and "removed ada@example.org" in removed.output
    missing = _cli(root, "remove", "ada@example.org")
    assert missing.exit_code == 1 and "not on the suppression list" in missing.output
    bad = _cli(root, "add", "not an address")
    assert bad.exit_code == 1 and "ADDRESS is not an email address" in bad.output


def test_cli_refuses_when_suppression_is_off_unless_a_store_is_named(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    with (root / "pyproject.toml").open("a") as f:
        f.write('\n[tool.letterhead.events]\nsuppression = "off"\ndatabase = "var/ev.sqlite3"\n')
    off = _cli(root, "list")
    assert off.exit_code == 1 and "suppression is off" in off.output and "--store" in off.output
    named = _cli(root, "add", "ada@example.org", "--store", "sqlite")
    assert named.exit_code == 0, named.output
    assert SqliteSuppressions(root / "var" / "ev.sqlite3").get("ada@example.org") is not None


def test_cli_list_json_as_a_user_runs_it(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    store = SqliteSuppressions(root / ".letterhead" / "events.sqlite3")
    store.add("b@example.org", "bounce", since=T0 + timedelta(hours=1), detail="General")
    store.add("a@example.org", "manual", since=T0)
    done = run_cli("suppression", "list", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [(s["address"], s["reason"], s["detail"]) for s in out["suppressions"]] == \
        [("a@example.org", "manual", None), ("b@example.org", "bounce", "General")]
    assert out["suppressions"][0]["since"] == T0.isoformat()
