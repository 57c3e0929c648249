"""Sending in the recipient's locale (issue 13): the variant picked by the
fallback chain, a receipt that says which, bulk sends with a locale per
recipient (one variant per SES call), ``letterhead send --locale``.

ses_templates/ with variants comes from tests/locale_support.py (the real
build, plus ``es``/``ar`` variants whose subjects start ``[es] ``/``[ar] ``).
"""

from __future__ import annotations

import copy
import json
import logging
import pickle
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from letterhead.errors import ConfigError, DailyQuotaExceeded, DataError
from letterhead.sending import SendReceipt
from letterhead.sending.catalog import TemplateCatalog
from letterhead.sending.mailer import Recipient
from letterhead.sending.transports import OutboxTransport

from .locale_support import build_plain, build_with_locales, load_into
from .send_support import (
    REGION,
    SES_DIR,
    DestinationFaults,
    Faults,
    all_log_text,
    client,
    make_mailer,
    recorded_destinations,
    sample,
)

pytestmark = pytest.mark.aws

INVITE = "coparent_invitation"
CODE = "739214"


def code_data(address: str = "amira.haddad@example.com", code: str = CODE) -> dict[str, str]:
    return {"code": code, "email": address, "expires_at": "14:32 UTC"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project built with en (default), es and ar variants."""
    root = tmp_path_factory.mktemp("locales") / "app"
    build_with_locales(root)
    return root


@pytest.fixture
def ses(app: Path, moto: None) -> Iterator[tuple[Any, Any]]:
    """moto in-process holding every variant: (client, the SES backend)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    c = client()
    load_into(c, app / "ses_templates")
    yield c, ses_backends[DEFAULT_ACCOUNT_ID][REGION]


class Journal:
    def __init__(self) -> None:
        self.sends: list[tuple[str, str]] = []

    def record_send(self, message_id: str, template: str, recipients: Any, data: Any) -> None:
        self.sends.append((message_id, template))


# --- picking the variant -------------------------------------------------------------------------------


@pytest.mark.parametrize(("asked", "variant", "used"), [
    ("es-MX", "coparent_invitation__es", "es"),  # region → language
    ("es_MX", "coparent_invitation__es", "es"),
    ("es", "coparent_invitation__es", "es"),
    ("ar-EG", "coparent_invitation__ar", "ar"),
    ("en-GB", "coparent_invitation", "en"),
    ("pt-BR", "coparent_invitation", "en"),  # no Portuguese: the default
    ("not a locale!", "coparent_invitation", "en"),  # garbage: the default
    ("", "coparent_invitation", "en"),
    (None, "coparent_invitation", "en"),  # none asked: the default (the plain name)
])
def test_resolve_follows_the_fallback_chain(app: Path, asked: str | None, variant: str, used: str) -> None:
    item, locale = TemplateCatalog(app / "ses_templates").resolve(INVITE, asked)
    assert (item.entry.name, locale) == (variant, used)
    assert item.payload.name == variant and item.deployed_name == variant


def test_a_variant_named_directly_is_sent_as_is(app: Path) -> None:
    catalog = TemplateCatalog(app / "ses_templates")
    item, locale = catalog.resolve("coparent_invitation__ar", "es")
    assert (item.entry.name, locale) == ("coparent_invitation__ar", "ar")
    assert item.payload.subject.startswith("[ar] ")


def test_unknown_template_suggests_logical_names_not_variants(app: Path) -> None:
    catalog = TemplateCatalog(app / "ses_templates")
    assert catalog.names() == ["coparent_invitation", "email_verification"]
    with pytest.raises(ConfigError) as err:
        catalog.resolve("coparent_invitaton__es", "es")
    assert err.value.hint is not None
    assert "did you mean 'coparent_invitation'?" in err.value.hint and "__" not in err.value.hint


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same project built without locales (one language)."""
    root = tmp_path_factory.mktemp("plain") / "app"
    build_plain(root)
    return root


def test_a_project_without_locales_ignores_the_locale(plain: Path, moto: None) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    c = client()
    load_into(c, plain / "ses_templates")
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    mailer = make_mailer(c, ses_dir=plain / "ses_templates")
    assert mailer.catalog.resolve("email_verification", "es")[1] is None
    receipt = mailer.send("email_verification", "amira.haddad@example.com", code_data(), locale="es-MX")
    assert receipt.variant == receipt.template == "email_verification" and receipt.locale is None
    assert receipt.requested_locale == "es-MX" and receipt.fell_back  # asked, not honoured
    assert [m.template for m in backend.sent_messages] == ["email_verification"]
    message = mailer.message("email_verification", "a@example.org", code_data())
    assert message.tags == (("template", "email_verification"),)  # no locale tag: metrics unchanged


# --- one message ------------------------------------------------------------------------------------------


def test_send_by_locale_sends_the_variant_and_says_which(app: Path, ses: Any, caplog: pytest.LogCaptureFixture) -> None:
    c, backend = ses
    journal = Journal()
    mailer = make_mailer(c, ses_dir=app / "ses_templates", journal=journal)
    with caplog.at_level(logging.INFO, logger="letterhead.send"):
        receipt = mailer.send(INVITE, "dev.raman@example.net", sample(INVITE), locale="es-MX")
    [stored] = backend.sent_messages
    assert stored.template == "coparent_invitation__es"
    assert isinstance(receipt, SendReceipt) and receipt == stored.id
    assert (receipt.template, receipt.variant, receipt.locale, receipt.requested_locale, receipt.fell_back) == \
        (INVITE, "coparent_invitation__es", "es", "es-MX", True)
    assert receipt.deployed_name == "coparent_invitation__es"
    assert journal.sends == [(receipt.message_id, "coparent_invitation__es")]
    line = all_log_text(caplog.records)
    assert "template=coparent_invitation locale=es status=sent" in line
    assert "dev.raman" not in line and sample(INVITE)["inviter_name"] not in line

    exact = mailer.send(INVITE, "dev.raman@example.net", sample(INVITE), locale="ar")
    assert (exact.variant, exact.locale, exact.fell_back) == ("coparent_invitation__ar", "ar", False)
    plain = mailer.send(INVITE, "dev.raman@example.net", sample(INVITE))
    assert (plain.variant, plain.locale, plain.requested_locale, plain.fell_back) == (INVITE, "en", None, False)
    assert [m.template for m in backend.sent_messages] == ["coparent_invitation__es", "coparent_invitation__ar", INVITE]


def test_the_receipt_is_the_message_id(app: Path, ses: Any) -> None:
    c, _ = ses
    mailer = make_mailer(c, ses_dir=app / "ses_templates")
    receipt = mailer.send(INVITE, "dev.raman@example.net", sample(INVITE), locale="es")
    message_id = receipt.message_id
    assert type(message_id) is str and isinstance(receipt, str)
    assert receipt == message_id and hash(receipt) == hash(message_id) and {message_id: 1}[receipt] == 1
    assert repr(receipt) == repr(message_id) and f"{receipt}" == message_id
    assert json.dumps({"id": receipt}) == json.dumps({"id": message_id})
    assert receipt.startswith(message_id[:4]) and receipt.upper() == message_id.upper()
    for again in (pickle.loads(pickle.dumps(receipt)), copy.deepcopy(receipt), copy.copy(receipt)):
        assert again == message_id and (again.variant, again.locale) == ("coparent_invitation__es", "es")
    assert receipt.to_dict() == {"message_id": message_id, "template": INVITE, "variant": "coparent_invitation__es",
                                 "deployed_name": "coparent_invitation__es", "locale": "es",
                                 "requested_locale": "es", "fell_back": False}


def test_tags_group_metrics_by_template_and_add_the_locale(app: Path, ses: Any) -> None:
    c, _ = ses
    mailer = make_mailer(c, ses_dir=app / "ses_templates")
    message = mailer.message(INVITE, "a@example.org", sample(INVITE), locale="ar-SA", tags={"kind": "invite"})
    assert message.template == "coparent_invitation__ar" and message.template_name == "coparent_invitation__ar"
    assert message.tags == (("template", INVITE), ("locale", "ar"), ("kind", "invite"))
    mine = mailer.message(INVITE, "a@example.org", sample(INVITE), locale="es", tags={"locale": "es-419"})
    assert mine.tags == (("template", INVITE), ("locale", "es-419"))  # the caller's tag wins
    assert mailer.render(INVITE, sample(INVITE), locale="es")["subject"].startswith("[es] ")
    assert not mailer.render(INVITE, sample(INVITE))["subject"].startswith("[")


# --- bulk --------------------------------------------------------------------------------------------------

LOCALE_CYCLE = ("es", "ar-EG", None, "es-MX", "pt", "en", "ar")
EXPECTED = {"es": "es", "ar-EG": "ar", None: "es", "es-MX": "es", "pt": "en", "en": "en", "ar": "ar"}  # default: es


def mixed(n: int) -> Iterator[Any]:
    """``n`` recipients of the verification email in many shapes and locales
    (the bulk default locale is ``es``)."""
    for i in range(n):
        address = f"user{i}@example.org"
        locale = LOCALE_CYCLE[i % len(LOCALE_CYCLE)]
        if i % 3 == 0:
            yield Recipient(address, code_data(address, f"{i:06d}"), key=i, locale=locale)
        elif i % 3 == 1:
            yield {"to": address, "data": code_data(address, f"{i:06d}"), "key": i, "locale": locale}
        elif locale is None:
            yield address, code_data(address, f"{i:06d}")  # a pair has no locale: the default
        else:
            yield Recipient(address, code_data(address, f"{i:06d}"), key=i, locale=locale)


def expected_variant(i: int) -> str:
    locale = EXPECTED[LOCALE_CYCLE[i % len(LOCALE_CYCLE)]]
    return "email_verification" if locale == "en" else f"email_verification__{locale}"


class Calls:
    """Every SendBulkTemplatedEmail as botocore built it: (template, addresses)."""

    def __init__(self, c: Any) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        c.meta.events.register("provide-client-params.ses.SendBulkTemplatedEmail", self._params)

    def _params(self, params: Any = None, **_: Any) -> None:
        self.calls.append((params["Template"], [d["Destination"]["ToAddresses"][0] for d in params["Destinations"]]))


@pytest.mark.parametrize("workers", [1, 4])
def test_bulk_with_mixed_locales_sends_one_variant_per_call_and_loses_nothing(app: Path, ses: Any,
                                                                            workers: int) -> None:
    c, backend = ses
    calls = Calls(c)
    Faults(c, "SendBulkTemplatedEmail", lambda i: ("Throttling", "Maximum sending rate exceeded.", 400)
           if i % 4 == 1 else None)
    faults = DestinationFaults(c, lambda address, attempt: "TransientFailure"
                               if attempt == 0 and int(address[4:].split("@")[0]) % 11 == 0 else None)
    n = 400
    result = make_mailer(c, ses_dir=app / "ses_templates").send_bulk("email_verification", mixed(n), locale="es",
                                                            workers=workers)
    assert result.ok and sorted(s.index for s in result.statuses) == list(range(n))
    # No call mixes variants: every address went out under its own locale's template.
    index_of = {f"user{i}@example.org": i for i in range(n)}
    for template, addresses in calls.calls:
        assert {expected_variant(index_of[a]) for a in addresses} == {template}
        assert len(addresses) <= 50
    # What SES accepted: every recipient exactly once (the failed destinations were retried, not duplicated).
    accepted = +(recorded_destinations(backend.sent_messages) - faults.failed)
    assert accepted == Counter(list(index_of)) and sum(faults.failed.values()) > 0
    for m in backend.sent_messages:
        assert all(expected_variant(index_of[d["Destination"]["ToAddresses"][0]]) == m.template
                   for d in m.destinations)
    # Statuses say which variant and locale each recipient got.
    for s in result.statuses:
        assert s.variant == expected_variant(s.index)
        assert s.locale == EXPECTED[LOCALE_CYCLE[s.index % len(LOCALE_CYCLE)]]
        assert s.to_dict()["variant"] == s.variant and s.to_dict()["locale"] == s.locale
    # Full calls while recipients keep coming: a variant waits for its own batch, not for the others.
    assert sum(1 for _, a in calls.calls if len(a) == 50) >= n // 50 - 3


def test_bulk_that_stops_accounts_for_the_recipients_waiting_in_every_variant(app: Path, ses: Any) -> None:
    c, backend = ses
    Faults(c, "SendBulkTemplatedEmail", lambda i: ("Throttling", "Daily message quota exceeded.", 400)
           if i >= 2 else None)
    n = 300
    result = make_mailer(c, ses_dir=app / "ses_templates").send_bulk("email_verification", mixed(n), locale="es")
    assert sorted(s.index for s in result.statuses) == list(range(n))
    assert result.counts["sent"] == 100 and result.counts["failed"] == 50
    assert result.counts["skipped"] == n - 150
    assert all(isinstance(s.error, DailyQuotaExceeded) for s in result.statuses if not s.ok)
    assert recorded_destinations(backend.sent_messages) == Counter(s.to[0] for s in result.sent)


def test_bulk_with_mixed_locales_streams(app: Path, ses: Any) -> None:
    c, _ = ses
    pulled = 0

    def recipients() -> Iterator[Recipient]:
        nonlocal pulled
        for i in range(600):
            pulled += 1
            address = f"user{i}@example.org"
            yield Recipient(address, code_data(address), locale=("es", "ar", "en")[i % 3])

    seen = 0
    for _ in make_mailer(c, ses_dir=app / "ses_templates").iter_send_bulk("email_verification", recipients()):
        seen += 1
        assert pulled - seen < 3 * 50  # at most one call's worth per variant is held
    assert seen == pulled == 600


def test_bulk_refuses_a_locale_that_is_not_a_string(app: Path, ses: Any) -> None:
    c, _ = ses
    result = make_mailer(c, ses_dir=app / "ses_templates").send_bulk("email_verification", [
        {"to": "a@example.org", "data": code_data("a@example.org"), "locale": ["es"]},
        Recipient("b@example.org", code_data("b@example.org"), locale="es")])
    assert [s.status for s in result.statuses] == ["invalid", "sent"]
    assert isinstance(result.statuses[0].error, DataError) and "locale" in result.statuses[0].error.message
    assert (result.statuses[1].variant, result.statuses[1].locale) == ("email_verification__es", "es")


# --- the command line ------------------------------------------------------------------------------------


def _invoke(args: list[str], root: Path, env: dict[str, str] | None = None) -> Any:
    from letterhead.cli.common import Ctx
    from letterhead.cli.send import send

    env = {"SES_SENDER_EMAIL": "noreply@calndr.club", "SES_SENDER_NAME": "Calndr Club", "SMTP_HOST": "",
           "LETTERHEAD_TRANSPORT": "", **(env or {})}
    return CliRunner().invoke(send, args, obj=Ctx(root, as_json=False), env=env, catch_exceptions=False)


def _data_file(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_cli_send_locale_says_which_variant_it_sent(app: Path, tmp_path: Path) -> None:
    data = _data_file(tmp_path, sample(INVITE))
    outbox = ["--transport", "outbox", "--outbox-dir", str(tmp_path / "outbox")]
    result = _invoke([INVITE, "--to", "dev.raman@example.net", "--data", data, "--locale", "es-MX", *outbox], app)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent coparent_invitation__es (es, asked es-MX) via outbox: ")
    exact = _invoke([INVITE, "--to", "dev.raman@example.net", "--data", data, "--locale", "ar", *outbox], app)
    assert exact.output.startswith("sent coparent_invitation__ar (ar) via outbox: "), exact.output

    as_json = _invoke([INVITE, "--to", "dev.raman@example.net", "--data", data, "--locale", "pt-BR", "--json",
                       *outbox], app)
    out = json.loads(as_json.output)
    assert (out["template"], out["variant"], out["locale"], out["requested_locale"], out["fell_back"]) == \
        (INVITE, INVITE, "en", "pt-BR", True)
    import email
    from email import policy

    emls = sorted((tmp_path / "outbox").glob("*.eml"))
    subjects = [str(email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]) for p in emls]
    assert sorted(s[:5] for s in subjects) == ["Sam W", "[ar] ", "[es] "]


def test_cli_send_refuses_an_unknown_locale(app: Path, tmp_path: Path) -> None:
    data = _data_file(tmp_path, sample(INVITE))
    result = _invoke([INVITE, "--to", "dev.raman@example.net", "--data", data, "--locale", "klingon",
                      "--transport", "outbox", "--outbox-dir", str(tmp_path / "outbox")], app)
    assert result.exit_code == 1 and "unknown --locale 'klingon'" in result.output
    assert not (tmp_path / "outbox").exists()


def test_cli_recipients_file_with_a_locale_per_line(app: Path, tmp_path: Path) -> None:
    lines = [
        '{"to": "a@example.org", "data": {"email": "a@example.org"}, "locale": "ar"}',
        "b@example.org",  # --locale
        '{"to": "c@example.org", "data": {"email": "c@example.org"}, "locale": "en-US"}',
        '{"to": "d@example.org", "data": {"email": "d@example.org"}}',  # --locale
    ]
    recipients = tmp_path / "recipients.jsonl"
    recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = _data_file(tmp_path, {"code": CODE, "email": "x@example.org", "expires_at": "14:32 UTC"})
    args = ["email_verification", "--recipients", str(recipients), "--data", data, "--locale", "es-MX",
            "--transport", "outbox", "--outbox-dir", str(tmp_path / "outbox")]
    result = _invoke([*args, "--json"], app)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [(s["key"], s["variant"], s["locale"]) for s in out["statuses"]] == [
        (1, "email_verification__ar", "ar"), (2, "email_verification__es", "es"),
        (3, "email_verification", "en"), (4, "email_verification__es", "es")]
    assert out["locales"] == {"ar": 1, "en": 1, "es": 2}
    human = _invoke(args, app)
    assert human.exit_code == 0 and "sent 4 of 4 email_verification" in human.output
    assert "1 email_verification (en), 1 email_verification__ar (ar), 2 email_verification__es (es)" in human.output

    recipients.write_text('{"to": "a@example.org", "data": {}, "locale": 34}\n', encoding="utf-8")
    bad = _invoke(args, app)
    assert bad.exit_code == 1 and f"{recipients}:1:" in bad.output and '"locale" must be a string' in bad.output


# --- over HTTP: the local SES --------------------------------------------------------------------------------


def test_a_variant_sent_by_locale_through_the_local_ses_reads_in_that_locale(app: Path, tmp_path: Path) -> None:
    from letterhead.dev.localses import LocalSes
    from letterhead.sending.mailer import Mailer

    with LocalSes(senders=["calndr.club"]) as local:
        local.load_templates(app / "ses_templates")
        mailer = Mailer(sender_email="noreply@calndr.club", sender_name="Calndr Club", ses_dir=app / "ses_templates",
                        region=local.region, endpoint_url=local.endpoint_url, environ=local.environ())
        receipt = mailer.send(INVITE, "dev.raman@example.net", sample(INVITE), locale="ar-EG")
        env = {**local.environ(), "SES_SENDER_EMAIL": "noreply@calndr.club"}
        cli = _invoke(["email_verification", "--to", "amira.haddad@example.com", "--locale", "es",
                       "--data", _data_file(tmp_path, code_data()), "--json"], app, env)
        assert cli.exit_code == 0, cli.output
        deliveries = {d.message.id: d for d in local.outbox()}
    invite = deliveries[receipt.message_id]
    assert invite.delivered and invite.message.template == "coparent_invitation__ar"
    assert invite.parts is not None
    inviter = sample(INVITE)["inviter_name"]
    assert invite.parts["subject"] == f"[ar] {inviter} invited you to share a calendar on Calndr Club"
    out = json.loads(cli.output)
    code = deliveries[out["message_id"]]
    assert code.message.template == "email_verification__es" and out["transport"] == "ses"
    assert code.parts is not None and code.parts["subject"].startswith("[es] ") and CODE in code.parts["subject"]


def test_outbox_keeps_the_variant_name(app: Path, tmp_path: Path, moto: None) -> None:
    mailer = make_mailer(client(), ses_dir=app / "ses_templates", transport=OutboxTransport(tmp_path))
    mailer.send(INVITE, "dev.raman@example.net", sample(INVITE), locale="es")
    [kept] = mailer.transport.messages  # type: ignore[attr-defined]
    assert kept.template == "coparent_invitation__es" and kept.subject.startswith("[es] ")
    assert ("locale", "es") in kept.tags and ("template", INVITE) in kept.tags
    assert "coparent_invitation__es" in kept.path.name
    assert SES_DIR.is_dir()  # the repository's own ses_templates/ is untouched by the fixture


def test_cli_locale_in_a_project_without_locales_is_sent_in_its_one_language(plain: Path, tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "ses_templates").mkdir(parents=True)
    for p in (plain / "ses_templates").glob("*.json"):
        (root / "ses_templates" / p.name).write_bytes(p.read_bytes())
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n", encoding="utf-8")
    data = _data_file(tmp_path, code_data())
    result = _invoke(["email_verification", "--to", "amira.haddad@example.com", "--data", data, "--locale", "es",
                      "--transport", "outbox", "--outbox-dir", str(tmp_path / "outbox")], root)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent email_verification (email_verification) via outbox: ")
    assert "--locale es ignored: ses_templates has no locale variants" in result.output


def test_the_human_line_names_the_deployed_name_when_it_differs() -> None:
    from letterhead.cli.send import receipt_line

    staged = SendReceipt("m-1", template=INVITE, variant="coparent_invitation__es",
                         deployed_name="stg-coparent_invitation__es", locale="es", requested_locale="es")
    assert receipt_line(staged) == "coparent_invitation__es (es) as stg-coparent_invitation__es"
    plain = SendReceipt("m-2", template=INVITE, deployed_name=f"stg-{INVITE}")
    assert receipt_line(plain) == f"{INVITE} (stg-{INVITE})" and not plain.fell_back and plain.variant == INVITE
