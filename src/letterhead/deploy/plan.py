"""What a sync would do, computed without touching SES: a pure diff of the
local payloads against what ListTemplates (and, in stable mode, GetTemplate)
reported.

Names come from :mod:`letterhead.deploy.naming` (the namespaces: which names
are ours, and what a logical name is deployed as).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..authoring.payload import SesTemplate
from .naming import Namespace
from .template_store import RemoteTemplate

CREATE, UPDATE, UNCHANGED, DELETE = "create", "update", "unchanged", "delete-candidate"
ACTIONS = (CREATE, UPDATE, UNCHANGED, DELETE)
PARTS = (("SubjectPart", "subject"), ("HtmlPart", "html"), ("TextPart", "text"))
DIFF_WRAP = 160  # diff lines longer than this are re-flowed at tag boundaries
DIFF_MAX_LINES = 400


@dataclass(frozen=True)
class PlannedAction:
    """One line of the plan.  ``diff`` is a unified diff (deployed → repo) of
    the parts that changed, for updates only."""

    logical: str
    deployed: str
    action: str
    diff: str = ""
    reason: str = ""
    content_hash: str = ""

    @property
    def is_write(self) -> bool:
        return self.action in (CREATE, UPDATE)

    def to_dict(self) -> dict[str, Any]:
        return {"logical": self.logical, "deployed": self.deployed, "action": self.action,
                "diff": self.diff or None, "reason": self.reason or None}


@dataclass(frozen=True)
class SyncPlan:
    namespace: Namespace
    actions: tuple[PlannedAction, ...]
    listed: int = 0  # templates ListTemplates reported in the region
    prune_note: str | None = None  # why delete candidates could not be computed
    deployed: Mapping[str, str] = field(default_factory=dict)  # logical → deployed name

    def of(self, action: str) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.action == action)

    @property
    def writes(self) -> tuple[PlannedAction, ...]:
        return self.of(CREATE) + self.of(UPDATE)

    @property
    def delete_candidates(self) -> tuple[PlannedAction, ...]:
        return self.of(DELETE)

    def drift(self, *, include_prune: bool = False) -> tuple[PlannedAction, ...]:
        """What makes SES differ from the repo: writes, plus delete candidates
        when pruning is part of the question."""
        return self.writes + (self.delete_candidates if include_prune else ())

    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in ACTIONS}

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace.to_dict(), "listed": self.listed,
                "prune_note": self.prune_note, "summary": self.counts(),
                "deployed_names": dict(sorted(self.deployed.items()))}


def make_plan(
    local: Mapping[str, SesTemplate],
    namespace: Namespace,
    listed: Iterable[RemoteTemplate],
    fetched: Mapping[str, SesTemplate] | None = None,
) -> SyncPlan:
    """Diff ``local`` (logical name → payload) against the remote state.

    ``listed`` is every template ListTemplates returned; ``fetched`` holds
    GetTemplate's answer for each name ``names_to_fetch`` asked for.
    """
    listed = list(listed)
    fetched = fetched or {}
    remote_names = {r.name for r in listed}
    actions: list[PlannedAction] = []
    deployed_names: dict[str, str] = {}
    for logical, payload in sorted(local.items()):
        deployed = namespace.deployed_name(logical, payload.content_hash)
        deployed_names[logical] = deployed
        h = payload.content_hash
        if deployed not in remote_names:
            actions.append(PlannedAction(logical, deployed, CREATE, reason="not in SES", content_hash=h))
        elif namespace.versioned:
            # Content-addressed: the name existing means the content is there.
            actions.append(PlannedAction(logical, deployed, UNCHANGED, content_hash=h))
        else:
            if deployed not in fetched:
                raise ValueError(f"make_plan needs GetTemplate's answer for {deployed!r}")
            diff = diff_parts(fetched[deployed], payload, logical=logical, deployed=deployed)
            if diff:
                actions.append(PlannedAction(logical, deployed, UPDATE, diff=diff,
                                             reason="content differs", content_hash=h))
            else:
                actions.append(PlannedAction(logical, deployed, UNCHANGED, content_hash=h))

    prune_note = None
    if namespace.scoped:
        actions += _delete_candidates(local, namespace, listed, set(deployed_names.values()))
    else:
        prune_note = ("no prefix or suffix: letterhead cannot tell its templates from others in "
                      "this region, so it never deletes here")
    actions.sort(key=lambda a: (a.logical, a.action == DELETE, a.deployed))
    return SyncPlan(namespace, tuple(actions), listed=len(listed), prune_note=prune_note,
                    deployed=deployed_names)


def names_to_fetch(local: Mapping[str, SesTemplate], namespace: Namespace,
                   listed: Iterable[RemoteTemplate]) -> list[str]:
    """The deployed names whose content the plan needs (GetTemplate): in
    stable mode those that exist; in versioned mode none."""
    if namespace.versioned:
        return []
    remote_names = {r.name for r in listed}
    wanted = (namespace.deployed_name(n, p.content_hash) for n, p in sorted(local.items()))
    return [d for d in wanted if d in remote_names]


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _created_key(r: RemoteTemplate) -> datetime:
    c = r.created
    if c is None:
        return _EPOCH
    return c if c.tzinfo else c.replace(tzinfo=UTC)


def _delete_candidates(local: Mapping[str, SesTemplate], ns: Namespace, listed: Sequence[RemoteTemplate],
                       current: set[str]) -> list[PlannedAction]:
    out: list[PlannedAction] = []
    by_logical: dict[str, list[RemoteTemplate]] = defaultdict(list)
    for r in listed:
        parsed = ns.parse(r.name)
        if parsed is not None and r.name not in current:
            by_logical[parsed[0]].append(r)
    for logical, olds in sorted(by_logical.items()):
        if logical not in local:
            out += [PlannedAction(logical, r.name, DELETE, reason="not in ses_templates/")
                    for r in sorted(olds, key=lambda r: r.name)]
            continue
        if not ns.versioned:  # pragma: no cover - a stable name in `local` is `current`
            continue
        # The current version counts as one of the K kept; keep the K-1 newest others.
        olds.sort(key=lambda r: (_created_key(r), r.name), reverse=True)
        out += [PlannedAction(logical, r.name, DELETE, reason=f"older than the newest {ns.keep} versions")
                for r in olds[ns.keep - 1:]]
    return out


def diff_parts(remote: SesTemplate, local: SesTemplate, *, logical: str, deployed: str) -> str:
    """Unified diff, deployed → repo, of each part that differs ("" when none)."""
    chunks: list[str] = []
    for label, attr in PARTS:
        a, b = getattr(remote, attr), getattr(local, attr)
        if a == b:
            continue
        lines = list(difflib.unified_diff(
            _diff_lines(a), _diff_lines(b),
            fromfile=f"ses:{deployed} {label}", tofile=f"ses_templates/{logical}.json {label}",
            n=2, lineterm=""))
        chunks.extend(lines)
    if len(chunks) > DIFF_MAX_LINES:
        more = len(chunks) - DIFF_MAX_LINES
        chunks = [*chunks[:DIFF_MAX_LINES], f"… {more} more diff line(s)"]
    return "\n".join(chunks)


_TAG_END = re.compile(r"(?<=>)(?=\s*<)")


def _diff_lines(text: str) -> list[str]:
    """Lines to diff: minified HTML lines are split between tags (``>…<``) so a diff
    points at the changed tag, not at a 5,000-character line."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= DIFF_WRAP:
            out.append(line)
        else:
            out.extend(p for p in _TAG_END.split(line) if p)
    return out
