"""``letterhead check``'s spam check: SpamAssassin (one spamd per module,
offline) scores each sample as the MIME message the SMTP transport would
send; rules that only reflect the local setup do not count."""

from __future__ import annotations

import dataclasses
import email
import os
import stat
from collections.abc import Iterator
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import pytest

from letterhead.check.model import SampleDoc
from letterhead.check.spam import (
    LOCAL_SETUP_RULES,
    SpamResult,
    SpamRule,
    SpamScorer,
    judge_spam,
    mime_bytes,
    parse_report,
)
from letterhead.errors import CheckToolError

from .helpers import PROJECTS, REPO
from .test_check_static import built_docs, docs_from_build

SENDER = "Calndr Club <noreply@calndr.club>"
THRESHOLD = 5.0


@pytest.fixture(scope="module")
def scorer() -> Iterator[SpamScorer]:
    with SpamScorer(jobs=2) as s:
        yield s


def live_group(pgid: int) -> set[int]:
    """The processes of a group that have not exited (from /proc)."""
    alive = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = text[text.rfind(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.add(int(entry))
    return alive


@pytest.mark.slow  # each test that uses spamd: ~2 s to start it (shared by the module), then 0.1-0.3 s a message
def test_gtube_sample_is_spam(tmp_path: Path, scorer: SpamScorer) -> None:
    docs = {d.key: d for d in built_docs(tmp_path, PROJECTS / "check-gtube")}
    seen: list[str] = []
    results = scorer.score_all(list(docs.values()), sender="Mini <hello@example.com>",
                               progress=lambda d: seen.append(d.key))
    assert sorted(results) == sorted(seen) == ["welcome/default", "welcome/gtube", "welcome/hostile"]
    gtube = results["welcome/gtube"]
    assert gtube.score >= THRESHOLD and gtube.rules[0].name == "GTUBE"
    (finding,) = judge_spam(docs["welcome/gtube"], gtube, THRESHOLD)
    assert (finding.code, finding.severity, finding.check, finding.template, finding.sample) == (
        "spam", "error", "spam", "welcome", "gtube")
    assert "GTUBE +1000" in finding.message and finding.location.path == "build/welcome/samples/gtube.html"
    assert finding.details["threshold"] == THRESHOLD and finding.details["score"] == gtube.score
    assert {"name": "GTUBE", "points": 1000.0, "description": "BODY: Generic Test for Unsolicited Bulk Email"} in \
        finding.details["rules"]
    for key in ("welcome/default", "welcome/hostile"):  # the same template without the string is fine
        assert results[key].score < THRESHOLD / 2
        assert judge_spam(docs[key], results[key], THRESHOLD) == []


@pytest.mark.slow
def test_calndr_samples_score_below_half_the_threshold(scorer: SpamScorer) -> None:
    docs = docs_from_build(REPO)
    assert any(d.headers for d in docs)  # the digest's List-Unsubscribe goes into the message
    results = scorer.score_all(docs, sender=SENDER)
    assert sorted(results) == sorted(d.key for d in docs)
    scores = {key: r.score for key, r in results.items()}
    assert all(score < THRESHOLD / 2 for score in scores.values()), scores
    for r in results.values():
        # scored locally, every message lacks Received headers: those rules are left out, and so are their points
        assert {"NO_RECEIVED", "NO_RELAYS"} <= {rule.name for rule in r.ignored}
        assert not {rule.name for rule in r.rules} & LOCAL_SETUP_RULES
        assert r.score == round(sum(rule.points for rule in r.rules), 3)
    assert all(judge_spam(d, results[d.key], THRESHOLD) == [] for d in docs)


@pytest.mark.slow
def test_spamd_is_stopped_after_the_block_also_when_it_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), SpamScorer(jobs=1) as s:
        assert s.pid is not None
        pgid, socket_path = s.pid, s.socket_path
        group = live_group(pgid)
        assert pgid in group and len(group) >= 2  # spamd and its child
        raise RuntimeError("boom")
    assert live_group(pgid) == set()  # no spamd, no child left running
    assert not Path(socket_path).parent.exists()  # its folder (socket, home, log) is gone
    assert s.pid is None


def test_missing_spamd_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(CheckToolError) as err, SpamScorer(spamd=str(tmp_path / "no" / "spamd")):
        pass
    assert "spamd" in err.value.message and str(tmp_path / "no" / "spamd") in err.value.message
    assert "make spamassassin" in (err.value.hint or "")
    assert "apt-get install spamassassin spamc" in (err.value.hint or "")


def test_spamd_that_fails_to_start_shows_its_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "spamd"
    fake.write_text('#!/bin/sh\necho "Can\'t locate Mail/SpamAssassin.pm in @INC" >&2\nexit 2\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(CheckToolError) as err, SpamScorer(spamd=str(fake)):
        pass
    assert "spamd failed to start (exit status 2)" in err.value.message
    assert "Can't locate Mail/SpamAssassin.pm" in err.value.message


def test_score_outside_the_block_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        SpamScorer().score(b"Subject: x\r\n\r\nx\r\n")


# -- the message -----------------------------------------------------------------------


def digest_doc() -> SampleDoc:
    return next(d for d in docs_from_build(REPO) if d.headers)


def test_mime_bytes_is_the_smtp_message_and_reproducible() -> None:
    doc = digest_doc()
    raw = mime_bytes(doc, SENDER)
    assert raw == mime_bytes(doc, SENDER)  # fixed Date, Message-ID and boundary
    msg: Message = email.message_from_bytes(raw, policy=default_policy)
    assert msg["From"] == SENDER and msg["To"] == "recipient@example.com"
    assert msg["Subject"] == doc.subject and msg["Date"] and msg["Message-ID"].endswith("@calndr.club>")
    assert msg["List-Unsubscribe"] == doc.headers["List-Unsubscribe"]
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_payload()  # type: ignore[misc]
    crlf = str.maketrans({"\r": None})
    assert text.get_content().translate(crlf) == doc.text
    assert html.get_content().translate(crlf).rstrip("\n") == doc.html.rstrip("\n")  # set_content ends a line
    assert b"\r\n" in raw  # as smtplib sends it (the SMTP policy)
    other = mime_bytes(dataclasses.replace(doc, sample="other"), SENDER)
    assert other != raw  # another sample is another message


# -- the judgement ---------------------------------------------------------------------


def result(*rules: tuple[str, float]) -> SpamResult:
    kept = tuple(SpamRule(n, p, f"describes {n}") for n, p in rules)
    return SpamResult(round(sum(p for _, p in rules), 3), kept)


DOC = SampleDoc("news__es", "news", "es", "promo", "Oferta", "<html></html>", "",
                html_path="build/news__es/samples/promo.html")


def test_below_half_the_threshold_is_fine() -> None:
    assert judge_spam(DOC, result(("HTML_MESSAGE", 0.001), ("HTML_FONT_LOW_CONTRAST", 0.713)), THRESHOLD) == []


def test_from_half_the_threshold_is_a_warning_listing_the_top_rules() -> None:
    (f,) = judge_spam(DOC, result(("MONEY_BACK", 1.5), ("HTML_MESSAGE", 0.001), ("LOTS_OF_MONEY", 1.0),
                                  ("FREE_OFFER", 0.5)), THRESHOLD)
    assert (f.code, f.severity, f.template, f.sample) == ("spam", "warning", "news__es", "promo")
    assert f.message == ("sample 'promo': SpamAssassin scores 3.0 (half the threshold 2.5): "
                         "MONEY_BACK +1.5, LOTS_OF_MONEY +1, FREE_OFFER +0.5, HTML_MESSAGE +0.001")
    assert f.details["rules"][0] == {"name": "MONEY_BACK", "points": 1.5, "description": "describes MONEY_BACK"}


def test_at_the_threshold_is_an_error() -> None:
    (f,) = judge_spam(DOC, result(*((f"RULE_{i}", 1.0) for i in range(7))), THRESHOLD)
    assert f.severity == "error" and "scores 7.0 (threshold 5)" in f.message and f.message.endswith("and 2 more")
    (f,) = judge_spam(DOC, result(("A", 2.0), ("B", 3.0)), THRESHOLD)
    assert f.severity == "error"


def test_report_parsing_leaves_local_setup_rules_out() -> None:
    reply = (b"SPAMD/1.1 0 EX_OK\r\nContent-length: 400\r\nSpam: True ; 998.9 / 5.0\r\n\r\n"
             b"ALL_TRUSTED=-1,GTUBE=1000,HTML_MESSAGE=0.001,NO_RECEIVED=-0.001,NO_RELAYS=-0.001\n"
             b"-1.0 ALL_TRUSTED            Passed through trusted hosts only via SMTP\n"
             b"1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email\n"
             b" 0.0 HTML_MESSAGE           BODY: HTML included in message\n"
             b"-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
             b"                            [a log line spamd adds under a rule]\n"
             b"-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n")
    r = parse_report(reply)
    assert r.score == 1000.001
    assert [(x.name, x.points, x.description) for x in r.rules] == [
        ("GTUBE", 1000.0, "BODY: Generic Test for Unsolicited Bulk Email"),
        ("HTML_MESSAGE", 0.001, "BODY: HTML included in message")]
    assert sorted(x.name for x in r.ignored) == ["ALL_TRUSTED", "NO_RECEIVED", "NO_RELAYS"]


def test_an_error_reply_is_a_tool_error() -> None:
    with pytest.raises(CheckToolError, match=r"SPAMD/1\.0 76 Bad header line"):
        parse_report(b"SPAMD/1.0 76 Bad header line: (EOF)\r\n\r\n")
