"""The data every check reads and writes: plain frozen objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import Location

Severity = Literal["error", "warning"]
# Where `letterhead check` keeps its last report (written by check.run, read by the preview).
REPORT_FILE = ".letterhead-cache/check.json"


@dataclass(frozen=True)
class SampleDoc:
    """One sample of one variant, rendered as SES would send it."""

    template: str  # the variant (SES template) name: coparent_invitation__es
    logical: str  # the template's folder: coparent_invitation
    locale: str | None  # None: a project without locales
    sample: str  # the sample's name (its file name without .json)
    subject: str
    html: str
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)  # rendered custom headers (List-Unsubscribe...)
    sample_path: str = ""  # the sample's JSON, relative to the project root
    html_path: str = ""  # where the build wrote this rendered HTML (build/<variant>/samples/<sample>.html)

    @property
    def key(self) -> str:
        return f"{self.template}/{self.sample}"


@dataclass(frozen=True)
class CheckFinding:
    """One problem a check found.  ``location`` is the designer's source line
    when the check can tell it (client support), otherwise the rendered
    sample in build/.  ``sample`` is empty when the finding holds for every
    sample of the template (the CSS it was written with)."""

    code: str  # a rule of letterhead.authoring.lint.RULES with stage "check"
    severity: Severity
    message: str
    location: Location
    hint: str = ""
    template: str = ""
    sample: str = ""
    check: str = ""  # "clients" | "a11y" | "axe" | "dark" | "spam" | "links"
    details: Mapping[str, Any] = field(default_factory=dict)  # JSON-safe

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message} [{self.code}]"
        return text + (f"\n  fix: {self.hint}" if self.hint else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.location.path,
            "line": self.location.line,
            "hint": self.hint,
            "template": self.template,
            "sample": self.sample,
            "check": self.check,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class SampleSummary:
    """One line of the table: one sample of one variant."""

    sample: str
    size_bytes: int
    clients: tuple[str, ...] = ()  # clients with a client-support finding
    axe: int = 0  # axe-core violations
    dark: int = 0  # dark-mode findings
    spam_score: float | None = None  # None: not scored (spam check skipped)
    errors: int = 0
    warnings: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"sample": self.sample, "size_bytes": self.size_bytes, "clients": list(self.clients),
                "axe": self.axe, "dark": self.dark, "spam_score": self.spam_score,
                "errors": self.errors, "warnings": self.warnings}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SampleSummary:
        score = d.get("spam_score")
        return cls(str(d["sample"]), int(d.get("size_bytes", 0)), tuple(map(str, d.get("clients", ()))),
                   int(d.get("axe", 0)), int(d.get("dark", 0)), None if score is None else float(score),
                   int(d.get("errors", 0)), int(d.get("warnings", 0)))


@dataclass(frozen=True)
class TemplateCheck:
    """Every sample of one variant, and the hash of what was checked (the
    preview marks a report stale when the template changed since)."""

    name: str  # the variant
    template: str  # its folder
    locale: str | None
    content_hash: str
    samples: tuple[SampleSummary, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "template": self.template, "locale": self.locale,
                "content_hash": self.content_hash, "samples": [s.to_dict() for s in self.samples]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TemplateCheck:
        return cls(str(d["name"]), str(d.get("template") or d["name"]), d.get("locale"),
                   str(d.get("content_hash", "")), tuple(SampleSummary.from_dict(s) for s in d.get("samples", ())))


@dataclass(frozen=True)
class CheckReport:
    """What ``letterhead check`` found; written to ``.letterhead-cache/check.json``
    for the preview, printed as a table or JSON."""

    templates: tuple[TemplateCheck, ...]
    findings: tuple[CheckFinding, ...]
    checks: tuple[str, ...]  # the checks that ran
    skipped: Mapping[str, str] = field(default_factory=dict)  # check → why it did not run

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    def for_template(self, name: str) -> list[CheckFinding]:
        return [f for f in self.findings if f.template == name]

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "ok": self.errors == 0, "errors": self.errors, "warnings": self.warnings,
                "checks": list(self.checks), "skipped": dict(self.skipped),
                "templates": [t.to_dict() for t in self.templates],
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckReport:
        findings = tuple(
            CheckFinding(str(f["code"]), "error" if f.get("severity") == "error" else "warning", str(f["message"]),
                         Location(str(f.get("file") or ""), f.get("line")), str(f.get("hint") or ""),
                         str(f.get("template") or ""), str(f.get("sample") or ""), str(f.get("check") or ""),
                         dict(f.get("details") or {}))
            for f in d.get("findings", ()))
        return cls(tuple(TemplateCheck.from_dict(t) for t in d.get("templates", ())), findings,
                   tuple(map(str, d.get("checks", ()))), {str(k): str(v) for k, v in (d.get("skipped") or {}).items()})
