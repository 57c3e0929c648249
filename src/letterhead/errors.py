"""One exception tree for everything letterhead can refuse.

Every error a designer or operator can cause carries *where* (a file and, when
there is one, a line) and *what to do about it* (a hint).  The CLI is the only
layer that turns these into coloured output and exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a source file; ``line`` is 1-based, ``None`` when unknown."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    @classmethod
    def of(cls, path: str | Path, line: int | None = None) -> "Location":
        return cls(str(path), line)


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

    def to_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "file": self.location.path if self.location else None,
            "line": self.location.line if self.location else None,
            "hint": self.hint,
        }


class ConfigError(LetterheadError):
    """pyproject.toml, the brand file or the environment is wrong."""


class SourceError(LetterheadError):
    """A file under templates_src/ cannot be read or is malformed
    (not UTF-8, not JSON, not TOML, bad template name...)."""


class JinjaError(SourceError):
    """The Jinja layer (layouts, brand values, ``[[ ]]``) failed."""


class MjmlError(SourceError):
    """MRML refused the MJML."""


class TemplateSyntaxError(SourceError):
    """SES template language (Handlebars) error: unbalanced or unsupported."""


class PlaceholderLostError(SourceError):
    """The toolchain would have dropped, moved or mangled an SES placeholder."""


class LintError(LetterheadError):
    """One or more lint findings of severity 'error'."""

    def __init__(self, findings: list["object"]) -> None:
        self.findings = findings
        lines = [str(f) for f in findings]
        super().__init__(f"{len(findings)} lint error(s):\n" + "\n".join(lines))


class RenderError(LetterheadError):
    """Data does not fit a template: SES would silently drop this message."""

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        location: Location | None = None,
        hint: str | None = None,
        source_line: str | None = None,
    ) -> None:
        super().__init__(message, location=location, hint=hint, source_line=source_line)
        self.variable = variable


class DataError(LetterheadError):
    """Sample or application data is malformed or breaks a declared type."""


class StaleOutputError(LetterheadError):
    """``build --check``: committed output differs from what the sources give."""

    exit_code = 2
