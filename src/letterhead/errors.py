"""One exception tree for everything letterhead can refuse.

Every error a designer or operator can cause carries *where* (a file and, when
there is one, a line) and *what to do about it* (a hint).  The CLI is the only
layer that turns these into coloured output and exit codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Location:
    """A place in a source file; ``line`` is 1-based, ``None`` when unknown."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    @classmethod
    def of(cls, path: str | Path, line: int | None = None) -> Location:
        return cls(str(path), line)

    def read_line(self, root: Path | None = None) -> str | None:
        """The text of this line in its file, when both can be found."""
        if not self.line:
            return None
        path = Path(self.path)
        if not path.is_absolute() and root is not None:
            path = root / path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        return lines[self.line - 1] if 0 < self.line <= len(lines) else None


class LetterheadError(Exception):
    """Base of every error letterhead raises on purpose.

    ``message`` says what is wrong, ``location`` where, ``hint`` how to fix it.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        source_line: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.source_line = source_line

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.source_line is not None and self.source_line.strip():
            text += f"\n    {self.source_line.strip()}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keyword-only fields would be lost by Exception's default pickling,
        # and errors travel from build worker processes.
        return (_restore_error, (type(self), self.args, self.__dict__))

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "file": self.location.path if self.location else None,
            "line": self.location.line if self.location else None,
            "hint": self.hint,
        }


def _merged(d: dict[str, object], attached: object) -> dict[str, object]:
    """An error's dict plus that of the result or report it carries."""
    to_dict = getattr(attached, "to_dict", None)
    if callable(to_dict):
        d.update(to_dict())
    return d


def _restore_error(cls: type[LetterheadError], args: tuple[object, ...],
                   state: dict[str, object]) -> LetterheadError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class ConfigError(LetterheadError):
    """pyproject.toml, the brand file or the environment is wrong."""


class SourceError(LetterheadError):
    """A file under templates_src/ cannot be read or is malformed
    (not UTF-8, not JSON, not TOML, bad template name...)."""


class JinjaError(SourceError):
    """The Jinja layer (layouts, brand values, ``[[ ]]``) failed."""


class TranslationError(SourceError):
    """A translation catalogue (``_locales/<locale>/LC_MESSAGES/messages.po``)
    is unreadable, or a translation breaks its message's placeholders (located
    at the ``.po`` line, naming the msgid)."""


class MjmlError(SourceError):
    """MRML refused the MJML."""


class TemplateSyntaxError(SourceError):
    """SES template language (Handlebars) error: unbalanced or unsupported."""


class PlaceholderLostError(SourceError):
    """The toolchain would have dropped, moved or mangled an SES placeholder."""


class LintError(LetterheadError):
    """One or more lint findings of severity 'error'."""

    def __init__(self, findings: Sequence[object]) -> None:
        self.findings = list(findings)
        lines = [str(f) for f in findings]
        super().__init__(f"{len(findings)} lint error(s):\n" + "\n".join(lines))


# --- data that does not render ---------------------------------------------------

EXCERPT_WIDTH = 120  # characters of a source line an error shows: a minified HTML line runs to kilobytes


def excerpt(line: str, start: int = 0, end: int | None = None, width: int = EXCERPT_WIDTH) -> str:
    """``line`` (stripped) cut to at most ``width`` characters around
    ``line[start:end]``, with … on each side that was cut."""
    lead = len(line) - len(line.lstrip())
    text = line.strip()
    if len(text) <= width:
        return text
    start = min(max(start - lead, 0), len(text))
    end = start if end is None else min(max(end - lead, start), len(text))
    room = width - 2  # an ellipsis on each side at most
    low = start if end - start >= room else max(0, start - (room - (end - start)) // 2)
    high = min(len(text), low + room)
    low = max(0, high - room)
    return ("…" if low else "") + text[low:high] + ("…" if high < len(text) else "")


def excerpt_at(text: str, offset: int, width: int = EXCERPT_WIDTH) -> str:
    """The line of ``text`` holding ``offset``, cut around the tag that starts there."""
    first = text.rfind("\n", 0, offset) + 1
    last = text.find("\n", offset)
    last = len(text) if last < 0 else last
    close = text.find("}}", offset, last)
    end = close + 2 if close >= 0 else offset
    return excerpt(text[first:last], offset - first, end - first, width)


class MissingVariable(NamedTuple):
    """One printed variable the data lacks, or holds as null: what SES would
    accept and then silently drop the message for."""

    variable: str  # the data path to send: `events[1].title`
    path: str  # the placeholder's path as written (valid in a template): `title`, `../name`, `@root.x`
    null: bool = False  # present but null (else missing)
    raw: bool = False  # printed with `{{{ }}}`
    location: Location | None = None
    source_line: str | None = None  # the line of the placeholder (shown cut around it)
    part: str | None = None  # subject, html or text, when known
    more: int = 0  # further items of the same `{{#each}}` that lack it too

    @property
    def tag(self) -> str:
        return ("{{{%s}}}" if self.raw else "{{%s}}") % self.path

    def describe(self) -> str:
        """``missing variable `x` for `{{title}}``` or ``variable `x` is null``."""
        state = f"variable `{self.variable}` is null" if self.null else f"missing variable `{self.variable}`"
        where = "" if self.variable == self.path else f" for `{self.tag}`"
        more = f" (and in {self.more} more item{'s' if self.more > 1 else ''})" if self.more else ""
        return state + where + more

    @property
    def guard(self) -> str | None:
        """The ``{{#if}}`` that would print it only when it is there (None
        for ``@index``-like data, which is never missing)."""
        if self.path.startswith("@") and not self.path.startswith("@root"):
            return None
        return "{{#if " + self.path + "}}…{{/if}}"


_INDEX = re.compile(r"\[\d+\]")
_DROP = " (SES would silently drop this message)"


def merge_missing(missing: Iterable[MissingVariable]) -> tuple[MissingVariable, ...]:
    """Each variable once, in the order met: the same field of several
    ``{{#each}}`` items (`xs[0].x`, `xs[2].x`) is the first, counting the others."""
    kept: dict[str, MissingVariable] = {}
    seen: dict[str, set[str]] = {}
    for m in missing:
        key = _INDEX.sub("[]", m.variable)
        first = kept.get(key)
        if first is None:
            kept[key] = m
            seen[key] = {m.variable}
        elif m.variable not in seen[key]:
            seen[key].add(m.variable)
            kept[key] = first._replace(more=first.more + 1 + m.more)
    return tuple(kept.values())


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class RenderError(LetterheadError):
    """Data does not fit a template: SES would silently drop this message.

    ``missing`` lists every printed variable the data lacks (or holds as
    null), each once; ``variable`` is the first of them.  The source line
    is shown cut around the placeholder (:func:`excerpt`), however long the
    line set on the error."""

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        location: Location | None = None,
        hint: str | None = None,
        source_line: str | None = None,
        part: str | None = None,
        missing: Iterable[MissingVariable] = (),
    ) -> None:
        self.missing = tuple(missing)
        super().__init__(message, location=location, hint=hint, source_line=source_line)
        self.variable = variable if variable is not None or not self.missing else self.missing[0].variable
        self.part = part  # subject, html or text, when known

    @classmethod
    def for_missing(cls, missing: Iterable[MissingVariable], *, label: str = "",
                    data_name: str = "the template data") -> RenderError:
        """The one wording of missing and null variables, for every path
        (render, build samples, preview, sender): ``label`` prefixes the
        message (``"template 'x': "``), ``data_name`` says what holds the
        data (``the data``, ``samples/default.json``, ``TemplateData``)."""
        merged = merge_missing(missing)
        if not merged:
            raise ValueError("for_missing() needs at least one missing variable")
        first = merged[0]
        if len(merged) == 1:
            message = first.describe()
        else:
            names = ", ".join(f"`{m.variable}`" + (" (null)" if m.null else "") for m in merged)
            message = f"{len(merged)} variables are missing or null: {names}"
        hint = (f"send {_and([f'`{m.variable}`' for m in merged])} in {data_name} "
                "(not null; an empty string prints nothing)")
        guards = list(dict.fromkeys(m.guard for m in merged if m.guard))
        if len(guards) == 1 and len(merged) == 1:
            hint += f", or print it only inside `{guards[0]}`"
        elif guards:
            hint += ", or print each only inside its own guard: " + ", ".join(f"`{g}`" for g in guards)
        return cls(label + message + _DROP, location=first.location, hint=hint, source_line=first.source_line,
                   part=first.part, missing=merged)

    @property
    def source_line(self) -> str | None:
        line = self.__dict__.get("_source_line")
        if line is None or not self.missing:
            return line
        return _focused(line, self.missing[0])

    @source_line.setter
    def source_line(self, line: str | None) -> None:
        self.__dict__["_source_line"] = line

    def read_source_lines(self, root: Path | None = None) -> None:
        """Show the lines of the files the locations name (the designer's own
        lines, rather than the compiled part's), where they can be read."""
        if self.location is not None:
            self.source_line = self.location.read_line(root) or self.source_line
        self.missing = tuple(m._replace(source_line=m.location.read_line(root) or m.source_line)
                             if m.location is not None else m for m in self.missing)

    def __str__(self) -> str:
        if len(self.missing) < 2:
            return super().__str__()
        text = f"{self.location}: {self.message}" if self.location else self.message
        for i, m in enumerate(self.missing):
            text += f"\n  {m.location}: {m.describe()}" if m.location else f"\n  {m.describe()}"
            line = self.source_line if i == 0 else m.source_line and _focused(m.source_line, m)
            if line and line.strip():
                text += f"\n      {line.strip()}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        d = super().to_dict()
        d["variable"] = self.variable
        d["missing"] = [{"variable": m.variable, "null": m.null, "path": m.path, "part": m.part,
                         "file": m.location.path if m.location else None,
                         "line": m.location.line if m.location else None} for m in self.missing]
        return d


def _focused(line: str, m: MissingVariable) -> str:
    """``line`` cut around ``m``'s placeholder."""
    found = re.search(r"\{\{\{?[&~\s]*" + re.escape(m.path) + r"\s*~?\}?\}\}", line)
    if found is None:
        at = line.find(m.path)
        return excerpt(line, max(at, 0), max(at, 0) + len(m.path) if at >= 0 else None)
    return excerpt(line, found.start(), found.end())


class DataError(LetterheadError):
    """Sample or application data is malformed or breaks a declared type."""


class CheckToolError(LetterheadError):
    """A tool ``letterhead check`` runs is missing or failed: Chromium,
    SpamAssassin (the message names it and how to install it)."""


class StaleOutputError(LetterheadError):
    """``build --check``: committed output differs from what the sources give."""

    exit_code = 2


# --- syncing to SES (issue #3) -------------------------------------------------


class RemoteError(LetterheadError):
    """SES (or the endpoint standing in for it) refused a call or could not be
    reached.  ``operation`` and ``template`` say which call, ``code`` is the
    AWS error code when there is one."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        operation: str | None = None,
        template: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.operation = operation
        self.template = template
        self.code = code

    def to_dict(self) -> dict[str, object]:
        d = super().to_dict()
        d.update(operation=self.operation, template=self.template, code=self.code)
        return d


class CredentialsError(RemoteError):
    """No AWS credentials, or credentials AWS does not accept."""


class AccessDeniedError(RemoteError):
    """The credentials are valid but lack a permission."""


class EndpointError(RemoteError):
    """No region, an unknown region, or an endpoint that cannot be reached."""


class ThrottledError(RemoteError):
    """SES kept answering Throttling after every retry."""


class RemoteTemplateError(RemoteError):
    """SES refused a template (InvalidTemplate, LimitExceeded, ...)."""


class SyncInputError(LetterheadError):
    """``ses_templates/`` cannot be synced as it is; ``errors`` lists every problem."""

    def __init__(self, errors: list[LetterheadError]) -> None:
        self.errors = errors
        if len(errors) == 1:
            e = errors[0]
            super().__init__(e.message, location=e.location, hint=e.hint)
        else:
            super().__init__(
                f"{len(errors)} problems in ses_templates/, nothing applied:\n"
                + "\n".join(str(e) for e in errors),
                hint=errors[0].hint,
            )

    def __str__(self) -> str:
        if len(self.errors) == 1:
            return str(self.errors[0]) + "\n  nothing was applied"
        return self.message


class NamespaceError(ConfigError):
    """``--env`` or the sync namespace settings are wrong."""


class PruneRefused(LetterheadError):
    """``--prune`` would delete templates without the confirmation it needs."""


class SyncFailed(RemoteError):
    """Applying a plan stopped at a failure; ``result`` says what was applied
    and what was not.  Every step is idempotent: once the cause is fixed,
    a rerun finishes the job."""

    def __init__(self, cause: RemoteError, result: object) -> None:
        super().__init__(cause.message, hint=cause.hint, operation=cause.operation,
                         template=cause.template, code=cause.code)
        self.cause = cause
        self.result = result

    def __str__(self) -> str:
        report = getattr(self.result, "failure_report", None)
        text = super().__str__()
        return f"{text}\n{report()}" if callable(report) else text

    def to_dict(self) -> dict[str, object]:
        return _merged(super().to_dict(), self.result)


class VerifyFailed(RemoteError):
    """SES's own test render refused one or more samples after applying."""

    def __init__(self, message: str, result: object, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, operation="TestRenderTemplate")
        self.result = result

    def to_dict(self) -> dict[str, object]:
        return _merged(super().to_dict(), self.result)


class DriftError(LetterheadError):
    """``sync --check``: SES differs from ``ses_templates/``."""

    exit_code = 2

    def __init__(self, message: str, result: object, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result

    def to_dict(self) -> dict[str, object]:
        return _merged(super().to_dict(), self.result)


# --- SES account: doctor, setup, stats (issue #6) ---------------------------------


class ConfigurationSetError(RemoteError):
    """The configuration set or one of its event destinations is missing or refused."""


class _ReportedProblems(LetterheadError):
    """A checking command found problems (exit 2); ``report`` holds its whole outcome."""

    exit_code = 2

    def __init__(self, message: str, report: object, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report

    def to_dict(self) -> dict[str, object]:
        return _merged(super().to_dict(), self.report)


class AccountCheckFailed(_ReportedProblems):
    """``letterhead doctor``: one or more checks failed; ``report`` holds them all."""


class ThresholdExceeded(_ReportedProblems):
    """``letterhead stats``: a bounce or complaint rate is at or above its threshold."""


# --- sending (issue #4) ----------------------------------------------------------
#
# A send either never reaches the transport (DataError / RenderError: the data
# does not fit the template, or a header value would break a header), or the
# transport refuses it with one of these.  Three class attributes drive the
# sender's policy, so a caller can use them too:
#   retryable   nothing was sent and the same call may succeed later;
#   fallback    the SMTP fallback may send it instead (SES unreachable or paused);
#   stops_bulk  every further send would fail the same way: a bulk send stops
#               and reports the rest as not sent.
# Messages never carry template data or a recipient's local part.


class SendError(RemoteError):
    """A transport (SES, SMTP) refused or could not take a message."""

    retryable = False
    fallback = False
    stops_bulk = False


class MessageRejected(SendError):
    """SES said MessageRejected: an unverified sender, or (in the sandbox) an
    unverified recipient, or content SES refuses."""


class MailFromDomainNotVerified(SendError):
    """The custom MAIL FROM domain of the sender is not set up."""

    stops_bulk = True


class TemplateDoesNotExist(SendError):
    """SES has no template of the deployed name in this region."""

    stops_bulk = True


class ConfigurationSetDoesNotExist(SendError):
    """``SES_CONFIGURATION_SET`` names a configuration set this region lacks."""

    stops_bulk = True


class AccountSendingPaused(SendError):
    """SES paused sending for the account (or the configuration set)."""

    fallback = True
    stops_bulk = True


class ConfigurationSetSendingPaused(AccountSendingPaused):
    """Sending is paused for the configuration set only."""


class DailyQuotaExceeded(SendError):
    """The 24-hour sending quota is used up (Throttling: "Daily message quota
    exceeded."): not a rate problem, waiting a few seconds will not help."""

    stops_bulk = True


class Throttled(SendError, ThrottledError):
    """SES kept answering "Maximum sending rate exceeded" after every retry."""

    retryable = True


class NoCredentials(SendError, CredentialsError):
    """No AWS credentials, or credentials AWS does not accept."""

    stops_bulk = True


class SendAccessDenied(SendError, AccessDeniedError):
    """The credentials may not send (IAM)."""

    stops_bulk = True


class SesUnreachable(SendError, EndpointError):
    """The SES endpoint could not be reached or is unavailable; nothing was sent."""

    retryable = True
    fallback = True
    stops_bulk = True


class DeliveryUnknown(SendError):
    """The request may or may not have been sent (a read timeout, a dropped
    connection, an internal error): letterhead does not retry it, so nothing
    is ever sent twice."""


class SmtpError(SendError):
    """The SMTP fallback refused or could not take a message."""


# --- issue 12: what answered was not SES; a verify gate that did not pass ----------


class NotSesEndpoint(EndpointError):
    """Something other than SES answered at the endpoint: an HTML page (the
    preview server, a proxy, moto's error page for a region it does not
    know), JSON, an empty answer.  ``url`` is the endpoint that answered,
    ``status`` the HTTP status of its answer."""

    def __init__(self, message: str, *, hint: str | None = None, operation: str | None = None,
                 url: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint, operation=operation)
        self.url = url
        self.status = status

    def to_dict(self) -> dict[str, object]:
        d = super().to_dict()
        d.update(url=self.url, status=self.status)
        return d


class VerifyGateFailed(VerifyFailed):
    """``sync --verify`` did not pass: SES could not render a sample, or a
    template could not be verified at all (no SES renderer at the endpoint,
    no samples).  Exit 2, like every gate; the templates were applied."""

    exit_code = 2


# --- SES events and suppression (issue 16) -----------------------------------------


class RecipientSuppressed(DataError):
    """The recipient bounced permanently or complained: letterhead refuses to
    send to it (``suppression`` holds the entry).  Never sent, so never retried."""

    def __init__(self, message: str, *, suppression: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.suppression = suppression


class EventRejected(LetterheadError):
    """An incoming SNS / SQS message was refused before any handler saw it:
    unsigned, badly signed, replayed, from a topic not on the allowlist, or
    not an SES notification.  ``reason`` is a short code for logs and metrics."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class HandlerFailed(LetterheadError):
    """One or more handlers raised.  ``errors``: (SesEvent, exception) pairs;
    every handler ran.  The caller makes the delivery fail so it is retried."""

    def __init__(self, errors: list[tuple[Any, BaseException]]) -> None:
        first_event, first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"a handler of {first_event.kind} events raised {type(first).__name__}: {first}{more}",
                         hint="the event is delivered again (SNS retries, SQS redelivers); handlers must be "
                              "idempotent")
        self.errors = errors
