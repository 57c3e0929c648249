"""SpamAssassin's score of each sample, as the SMTP transport would send it.

One ``spamd`` serves the whole run (:class:`SpamScorer`): started offline
(``-L``: no DNS, no network tests), without user configuration (``-x``), on a
Unix socket in a private temporary folder, with its own empty home (so Bayes
and auto-learning, both switched off, leave no state behind and find none);
``jobs`` threads talk SPAMC's protocol to it over that socket.

Why spamd and the socket rather than ``spamassassin -L -t`` or ``spamc``
(measured on the 24 Calndr samples, 2 cores): ``spamassassin`` loads and
compiles its rules for every message (~2 s each); spamd loads them once
(~2 s) and then scores a message in ~0.25 s per child, so ``jobs=2`` scores
the 24 samples in ~3.3 s.  ``spamc`` per message costs the same as the
socket (the process is nothing next to the scan), but the socket needs only
``spamd`` installed and fails loudly: ``spamc -R``, when it cannot reach
spamd, prints a score of ``0/0`` and exits 0.

The report spamd returns is set to a template this module reads
(``report_template``, via ``--cf``): the rules that fired with their exact
points (``_TESTSSCORES_``), then the summary table for their descriptions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ..authoring.lint import RULES
from ..errors import CheckToolError, Location
from ..sending.transports import OutgoingMessage, build_mime
from .model import CheckFinding, SampleDoc

INSTALL_HINT = "install SpamAssassin: `make spamassassin` (or `apt-get install spamassassin spamc`)"
RECIPIENT = "recipient@example.com"
# A fixed Date and Message-ID: the same sample gives the same message, and the
# same score, on every run.  (SpamAssassin compares Date with the Received
# headers only, which a locally built message has none of.)
FIXED_DATE = "Mon, 01 Jan 2024 09:00:00 +0000"

# Rules that only reflect how the message is scored here (built locally, handed
# to spamd directly) and not what the template says; their points are taken
# out of the score and they are not reported.  Measured on the Calndr samples
# (every variant and sample; tests/test_check_spam.py) and on the GTUBE and
# base projects: NO_RECEIVED and NO_RELAYS fire on every one of them, and
# nothing else does on all.
LOCAL_SETUP_RULES: frozenset[str] = frozenset({
    # Every relay the message passed is trusted: fires when the message comes
    # from this host or a trusted network, which a message scored locally does
    # (the example; spamd fires it as soon as there is a Received header).
    "ALL_TRUSTED",
    # "message has no Received headers" / "was not relayed via SMTP": true of every
    # message built here and of none SES delivers (SES adds its Received headers).
    "NO_RECEIVED",
    "NO_RELAYS",
    # The Date against the Received headers' times: a locally built message has
    # no Received header and a fixed Date, so these would only measure when the
    # check ran (none fired in the measurements; listed so that a ruleset that
    # compares with the scan time cannot make the score depend on the day).
    "DATE_IN_PAST_03_06", "DATE_IN_PAST_06_12", "DATE_IN_PAST_12_24", "DATE_IN_PAST_24_48",
    "DATE_IN_PAST_96_XX", "DATE_IN_FUTURE_03_06", "DATE_IN_FUTURE_06_12", "DATE_IN_FUTURE_12_24",
    "DATE_IN_FUTURE_24_48", "DATE_IN_FUTURE_48_96", "DATE_IN_FUTURE_96_Q", "DATE_IN_FUTURE_Q_PLUS",
})

START_TIMEOUT = 60.0  # seconds for spamd to load its rules and answer (~2 s measured)
SCORE_TIMEOUT = 120.0  # seconds for one message (~0.25 s measured)
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")  # not on a Debian user's PATH


@dataclass(frozen=True)
class SpamRule:
    name: str
    points: float
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points, "description": self.description}


@dataclass(frozen=True)
class SpamResult:
    """The score without the rules of :data:`LOCAL_SETUP_RULES`, the rules that
    counted (most points first) and those left out."""

    score: float
    rules: tuple[SpamRule, ...]
    ignored: tuple[SpamRule, ...] = ()


def mime_bytes(doc: SampleDoc, sender: str) -> bytes:
    """The full MIME message the SMTP transport would send for ``doc``, to a
    fixed recipient, with a fixed Date and Message-ID."""
    message = OutgoingMessage(
        template=doc.logical, template_name=doc.template, source=sender, to=(RECIPIENT,),
        template_data="{}", parts={"subject": doc.subject, "html": doc.html, "text": doc.text},
        headers=tuple(doc.headers.items()))
    domain = message.sender_domain or "letterhead.invalid"
    mime = build_mime(message, message_id=f"<letterhead-check.{_id_part(doc.key)}@{domain}>", date=FIXED_DATE)
    if mime.is_multipart():  # the email package picks a random boundary; "==" never occurs in quoted-printable
        digest = hashlib.sha256(f"{doc.key}\0{doc.html}\0{doc.text}".encode()).hexdigest()[:24]
        mime.set_boundary(f"=={digest}==")
    return mime.as_bytes()


def _id_part(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-.") or "sample"


def find_spamd(configured: str | None = None) -> str:
    """``configured`` (a path or a command name), else ``spamd`` on PATH or in
    the sbin folders; :class:`CheckToolError` with the install hint if none."""
    if configured:
        found = shutil.which(configured) if os.sep not in configured else (
            configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None)
        if found:
            return found
        raise CheckToolError(f"SpamAssassin's spamd was not found at {configured!r}", hint=INSTALL_HINT)
    found = shutil.which("spamd") or shutil.which("spamd", path=os.pathsep.join(_SBIN))
    if found:
        return found
    raise CheckToolError("SpamAssassin's spamd was not found (looked on PATH and in /usr/sbin)",
                         hint=INSTALL_HINT)


class SpamScorer:
    """One spamd for the run: ``with SpamScorer(jobs=2) as s: s.score_all(docs, sender=...)``.

    ``__enter__`` starts it and waits until it answers; ``__exit__`` stops it
    and its children (also when the block raised) and removes its folder."""

    def __init__(self, *, jobs: int = 2, spamd: str | None = None) -> None:
        self.jobs = max(1, jobs)
        self._configured = spamd
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._log: Path | None = None
        self.socket_path = ""

    @property
    def pid(self) -> int | None:
        """spamd's parent process (its children share its process group)."""
        return self._proc.pid if self._proc else None

    def __enter__(self) -> SpamScorer:
        exe = find_spamd(self._configured)
        self._dir = Path(tempfile.mkdtemp(prefix="letterhead-spamd-"))
        if len(str(self._dir)) > 80:  # a Unix socket's path holds ~107 bytes
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = Path(tempfile.mkdtemp(prefix="letterhead-spamd-", dir="/tmp"))
        try:
            self._start(exe)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _start(self, exe: str) -> None:
        assert self._dir is not None
        home = self._dir / "home"
        home.mkdir()
        self.socket_path = str(self._dir / "spamd.sock")
        self._log = self._dir / "spamd.log"
        args = [exe, "-L", "-x", f"--socketpath={self.socket_path}", "--socketmode=0600",
                f"--max-children={self.jobs}", f"--min-children={self.jobs}", f"--min-spare={self.jobs}",
                f"--max-spare={self.jobs}", "--syslog=stderr", f"--helper-home-dir={home}",
                # No state in, none out: the score depends on the message and the rules only.
                "--cf=use_bayes 0", "--cf=bayes_auto_learn 0",
                "--cf=ifplugin Mail::SpamAssassin::Plugin::AWL", "--cf=use_auto_welcomelist 0", "--cf=endif",
                # The report this module parses: exact points, then the summary's descriptions.
                "--cf=clear_report_template", "--cf=report_wrap_width 100000",
                "--cf=report _TESTSSCORES(,)_", "--cf=report _SUMMARY_"]
        if os.geteuid() == 0:  # spamd refuses to run as root; its children become nobody
            import pwd

            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                raise CheckToolError("spamd cannot run as root and there is no user 'nobody'",
                                     hint="run `letterhead check` as an ordinary user") from None
            os.chmod(self._dir, 0o711)
            os.chown(home, nobody.pw_uid, nobody.pw_gid)
            args.append("--username=nobody")
        env = {**os.environ, "LANG": "C", "LC_ALL": "C", "HOME": str(home)}
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                          start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                raise CheckToolError(f"spamd failed to start (exit status {self._proc.returncode}):\n"
                                     f"{self._log_tail()}", hint=INSTALL_HINT)
            if self._ping():
                return
            if time.monotonic() > deadline:
                raise CheckToolError(f"spamd did not answer within {START_TIMEOUT:.0f} s:\n{self._log_tail()}",
                                     hint=INSTALL_HINT)
            time.sleep(0.05)

    def _ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.socket_path)
                s.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in _read_all(s)
        except OSError:
            return False

    def _log_tail(self, lines: int = 12) -> str:
        try:
            text = self._log.read_text(encoding="utf-8", errors="replace") if self._log else ""
        except OSError:
            text = ""
        return "\n".join(text.strip().splitlines()[-lines:]) or "(spamd wrote nothing)"

    def close(self) -> None:
        """Stop spamd and every process of its group; remove the folder."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop_group(proc)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # -- scoring ------------------------------------------------------------------

    def score(self, message: bytes) -> SpamResult:
        """One MIME message's result."""
        if self._proc is None:
            raise RuntimeError("SpamScorer is not started: use it as a context manager")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(SCORE_TIMEOUT)
                s.connect(self.socket_path)
                s.sendall(b"REPORT SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(message) + message)
                s.shutdown(socket.SHUT_WR)
                reply = _read_all(s)
        except OSError as exc:
            raise CheckToolError(f"spamd stopped answering ({exc}):\n{self._log_tail()}") from None
        return parse_report(reply)

    def score_all(self, docs: Sequence[SampleDoc], *, sender: str,
                  progress: Callable[[SampleDoc], None] | None = None) -> dict[str, SpamResult]:
        """Every doc's result by ``doc.key``, ``jobs`` at a time;
        ``progress(doc)`` after each (in the calling thread)."""
        results: dict[str, SpamResult] = {}
        if not docs:
            return results
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="spamc") as pool:
            futures = {pool.submit(self.score, mime_bytes(doc, sender)): doc for doc in docs}
            try:
                for future in as_completed(futures):
                    doc = futures[future]
                    results[doc.key] = future.result()
                    if progress is not None:
                        progress(doc)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return results


def _read_all(s: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM spamd's parent (it tells its children to stop, unlinks the
    socket and exits without waiting for them), then make sure every process
    of its group is gone; SIGKILL what is left after a few seconds."""
    pgid = proc.pid  # start_new_session: spamd leads its own group
    members = _group_members(pgid)
    try:
        proc.terminate()
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in members | _group_members(pgid)):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            break
        time.sleep(0.02)


def _group_members(pgid: int) -> set[int]:
    """The live processes of process group ``pgid`` (Linux /proc; empty elsewhere)."""
    found: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pgid and stat[0] != "Z":
                found.add(int(entry))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of ``pid`` from /proc, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[2])


def _running(pid: int) -> bool:
    """``pid`` exists and is no zombie (a zombie has exited; its parent reaps it)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


_STATUS_RE = re.compile(rb"^SPAMD/(\d+\.\d+) (\d+) (.*)$")
_SUMMARY_RE = re.compile(r"^\s*-?\d+(?:\.\d+)?\s+([A-Z0-9_]+)\s+(.*)$")


def parse_report(reply: bytes) -> SpamResult:
    """spamd's answer to REPORT (with this module's report template) → the result."""
    head, _, body = reply.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0]
    status = _STATUS_RE.match(first)
    if status is None or status.group(2) != b"0":
        raise CheckToolError(f"spamd answered {first.decode('latin-1')!r}",
                             hint="check that spamd is SpamAssassin 3.4 or later")
    lines = body.decode("utf-8", errors="replace").splitlines()
    points: dict[str, float] = {}
    if lines and lines[0].strip() not in ("", "none"):
        for item in lines[0].strip().split(","):
            name, _, value = item.partition("=")
            try:
                points[name.strip()] = float(value)
            except ValueError:
                continue
    descriptions: dict[str, str] = {}
    for line in lines[1:]:
        m = _SUMMARY_RE.match(line)
        if m and m.group(1) in points:
            descriptions.setdefault(m.group(1), m.group(2).strip())
    rules = sorted((SpamRule(n, p, descriptions.get(n, "")) for n, p in points.items()),
                   key=lambda r: (-r.points, r.name))
    kept = tuple(r for r in rules if r.name not in LOCAL_SETUP_RULES)
    ignored = tuple(r for r in rules if r.name in LOCAL_SETUP_RULES)
    return SpamResult(round(sum(r.points for r in kept), 3), kept, ignored)


def judge_spam(doc: SampleDoc, result: SpamResult, threshold: float) -> list[CheckFinding]:
    """An error at or above ``threshold``, a warning from half of it."""
    if result.score >= threshold:
        severity = RULES["spam"].default
    elif result.score >= threshold / 2:
        severity = "warning"
    else:
        return []
    scoring = sorted((r for r in result.rules if r.points > 0), key=lambda r: (-r.points, r.name))
    top = scoring[:5]
    fired = ", ".join(f"{r.name} {r.points:+g}" for r in top) or "no rule with points"
    more = len(scoring) - len(top)
    message = (f"sample '{doc.sample}': SpamAssassin scores {result.score:.1f} "
               f"({'threshold' if severity == 'error' else 'half the threshold'} "
               f"{threshold if severity == 'error' else threshold / 2:g}): {fired}"
               + (f" and {more} more" if more > 0 else ""))
    return [CheckFinding(
        "spam", severity, message, Location(doc.html_path or doc.template), template=doc.template,
        sample=doc.sample, check="spam",
        hint="change what the top rules flag (their descriptions are in --json); a score means the same in "
             "inboxes' filters",
        details={"score": result.score, "threshold": threshold,
                 "rules": [r.to_dict() for r in result.rules],
                 "ignored": [r.to_dict() for r in result.ignored]})]
