"""The names a deployment gives its templates in SES, and its settings.

In: the :class:`~letterhead.config.Config` (its ``[tool.letterhead.sync]`` and
``[tool.letterhead.env.<NAME>]`` settings, read as typed
:class:`~letterhead.config.DeploymentSettings`) and the options of
``letterhead sync``.  Out: a :class:`Namespace` (logical name → deployed
name, and which names in a region are ours), the :class:`SyncSettings` of a
run, and the deployed-names file the sending side reads.  Used by
:mod:`letterhead.deploy.sync`, the mailer and the account doctor.

Namespaces
----------
A ``Namespace`` maps a logical template name (the folder name under
``templates_src/``) to the name SES stores, so one account can hold several
environments::

    stable:     <prefix><logical><suffix>                  stg-welcome
    versioned:  <prefix><logical>-v<10 hex><suffix>        stg-welcome-v9b678a6e74

The 10 hex digits are the start of the manifest's ``content_hash``: equal
content, equal name, so in versioned mode a template that exists is up to
date and a deploy never changes a template a running application sends with.

letterhead only ever reads, changes or deletes names of its own namespace:

* it creates, updates and reads only the deployed names of the templates in
  ``ses_templates/``;
* it considers for deletion only names that *parse* as its own: prefix and
  suffix present, the rest a logical name (stable) or ``<logical>-v<hex>``
  (versioned), and not a name of a more specific namespace configured in the
  same project (``app-`` never claims ``app-stg-…`` when ``app-stg-`` is an
  env prefix);
* with neither prefix nor suffix every name in the region would parse, so
  nothing is ever a delete candidate and ``--prune`` is refused: configure a
  prefix to prune.
* A stable namespace never claims a versioned-looking name and a versioned
  namespace never claims a stable one, so switching modes never prunes the
  names the other mode deployed (running application versions may still send
  them); delete those by hand once nothing sends them.

Deployed names for the sending side
-----------------------------------
After applying, sync writes ``ses_templates/deployed/<env>.json``
(``default.json`` without ``--env``): ``{"templates": {logical: deployed}}``
plus the namespace.  Why a separate file and not ``deployed_name`` in
``manifest.json``: the manifest is a build output that ``build --check``
compares byte for byte and that every environment shares, while deployed
names differ per environment (and, in versioned mode, per deploy).  Why in a
subfolder: the build owns ``ses_templates/*.json`` and keeps other files.
Names are deterministic, so the sending side can also compute them without
the file: ``namespace_for(config, env).deployed_name(logical, content_hash)``;
``deployed_names(config, env)`` reads the file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..authoring.payload import dumps
from ..aws.client import DEFAULT_MAX_ATTEMPTS
from ..aws.loopback import is_loopback_url
from ..config import Config, DeploymentSettings
from ..errors import ConfigError, LetterheadError, NamespaceError
from .template_store import DEFAULT_RATE, LOOPBACK_RATE

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # SES's rule for TemplateName
AFFIX_RE = re.compile(r"^[A-Za-z0-9_-]*$")
VERSION_RE = re.compile(r"^(?P<logical>.+)-v(?P<version>[0-9a-f]{10})$")
VERSION_HEX = 10
DEFAULT_KEEP = 3

DEPLOYED_DIR = "deployed"
DEFAULT_ENV_FILE = "default"


@dataclass(frozen=True)
class Namespace:
    """Where an environment's templates live in SES (see the module docstring)."""

    env: str | None = None
    prefix: str = ""
    suffix: str = ""
    versioned: bool = False
    keep: int = DEFAULT_KEEP
    # (prefix, suffix) of other, more specific namespaces of the same project.
    excluded: tuple[tuple[str, str], ...] = ()

    @property
    def scoped(self) -> bool:
        """True when the prefix/suffix tells letterhead's names from others."""
        return bool(self.prefix or self.suffix)

    @property
    def mode(self) -> str:
        return "versioned" if self.versioned else "stable"

    def deployed_name(self, logical: str, content_hash: str) -> str:
        core = f"{logical}-v{content_hash[:VERSION_HEX]}" if self.versioned else logical
        return f"{self.prefix}{core}{self.suffix}"

    def parse(self, deployed: str) -> tuple[str, str | None] | None:
        """``(logical, version)`` when ``deployed`` is a name of this namespace
        (``version`` None in stable mode), else None."""
        p, s = self.prefix, self.suffix
        if len(deployed) <= len(p) + len(s) or not deployed.startswith(p) or not deployed.endswith(s):
            return None
        for op, os_ in self.excluded:
            if len(deployed) > len(op) + len(os_) and deployed.startswith(op) and deployed.endswith(os_):
                return None
        core = deployed[len(p):len(deployed) - len(s)]
        m = VERSION_RE.match(core)
        if self.versioned:
            if m is None or not NAME_RE.match(m["logical"]):
                return None
            return m["logical"], m["version"]
        if m is not None or not NAME_RE.match(core):
            return None
        return core, None

    def describe(self) -> str:
        bits = [f"env {self.env!r}" if self.env else "no env"]
        bits.append(f"prefix {self.prefix!r}" if self.prefix else "no prefix")
        if self.suffix:
            bits.append(f"suffix {self.suffix!r}")
        bits.append(f"versioned, keep {self.keep}" if self.versioned else "stable")
        return ", ".join(bits)

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "prefix": self.prefix, "suffix": self.suffix,
                "mode": self.mode, "keep": self.keep if self.versioned else None}

    def problems(self) -> list[str]:
        """What is wrong with the settings themselves (empty when fine)."""
        out = []
        for label, value in (("prefix", self.prefix), ("suffix", self.suffix)):
            if not AFFIX_RE.match(value):
                out.append(f"{label} {value!r} may only hold letters, digits, '_' and '-'")
        if self.keep < 1:
            out.append(f"keep must be at least 1 (the current version), not {self.keep}")
        return out


# -- the settings of a run -----------------------------------------------------------------


@dataclass(frozen=True)
class SyncSettings:
    namespace: Namespace
    region: str | None = None
    endpoint_url: str | None = None
    rate: float = DEFAULT_RATE
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


def load_settings(config: Config, env_name: str | None = None, *, versioned: bool | None = None,
                  keep: int | None = None, rate: float | None = None, max_attempts: int | None = None,
                  region: str | None = None, endpoint_url: str | None = None) -> SyncSettings:
    """Settings for the deployment ``env_name`` (``--env``): options > the
    environment > ``[tool.letterhead.env.<env_name>]`` > ``[tool.letterhead.sync]`` > defaults.
    The default rate is SES's 1 call a second, or :data:`LOOPBACK_RATE`
    against a loopback endpoint (the local SES, moto)."""
    deployment = config.deployment(env_name, reserved=DEFAULT_ENV_FILE)
    if keep is None:
        keep = deployment.keep
    ns = Namespace(
        env=env_name,
        prefix=deployment.prefix,
        suffix=deployment.suffix,
        versioned=deployment.versioned if versioned is None else versioned,
        keep=DEFAULT_KEEP if keep is None else keep,
    )
    endpoint_url = endpoint_url or config.endpoint_url
    if rate is None:
        rate = deployment.rate
    if rate is None:
        rate = LOOPBACK_RATE if is_loopback_url(endpoint_url) else DEFAULT_RATE
    if max_attempts is None:
        max_attempts = deployment.max_attempts
    attempts = DEFAULT_MAX_ATTEMPTS if max_attempts is None else max_attempts
    problems = ns.problems()
    if not rate > 0:
        problems.append(f"rate must be > 0 calls per second, not {rate}")
    if attempts < 1:
        problems.append(f"max_attempts must be at least 1, not {attempts}")
    if problems:
        raise NamespaceError("; ".join(problems), location=deployment.location,
                             hint="fix [tool.letterhead.sync] / [tool.letterhead.env.*] or the option")
    ns = replace(ns, excluded=more_specific(ns, deployment))
    return SyncSettings(
        namespace=ns,
        region=region or config.region or deployment.region,
        endpoint_url=endpoint_url,
        rate=rate,
        max_attempts=attempts,
    )


def more_specific(ns: Namespace, deployment: DeploymentSettings) -> tuple[tuple[str, str], ...]:
    """The other configured namespaces whose names would also parse as ours."""
    out = []
    for p, s in deployment.others:
        if (p, s) != (ns.prefix, ns.suffix) and p.startswith(ns.prefix) and s.endswith(ns.suffix):
            out.append((p, s))
    return tuple(sorted(set(out)))


def namespace_for(config: Config, env_name: str | None = None) -> Namespace:
    """The namespace of ``env_name`` as configured (for the sending side)."""
    return load_settings(config, env_name).namespace


def sending_namespace(config: Config, env_name: str | None) -> Namespace | None:
    """The sync namespace the sending side uses for ``env_name``.

    The project's own ``[tool.letterhead.sync]`` / ``[tool.letterhead.env.*]``
    settings when it has them (what ``letterhead sync`` uses); else the
    namespace recorded in ``ses_templates/deployed/<env>.json``, which sync
    writes, so an application that ships only ``ses_templates/`` sends with
    the names its deploy used; else none (logical names)."""
    if config.declares_namespaces:
        return namespace_for(config, env_name)
    path = deployed_path(config, env_name)
    if path.is_file():
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            return Namespace(env=env_name, prefix=str(d.get("prefix") or ""), suffix=str(d.get("suffix") or ""),
                             versioned=d.get("mode") == "versioned")
        except (ValueError, AttributeError) as exc:
            raise ConfigError(f"{config.rel(path)} is not a deployed-names file ({exc})",
                              hint=f"rerun `letterhead sync{' --env ' + env_name if env_name else ''}`") from None
    if env_name is not None:
        raise ConfigError(f"no settings for environment {env_name!r}",
                          hint=f"add [tool.letterhead.env.{env_name}] to pyproject.toml, or ship "
                               f"ses_templates/{DEPLOYED_DIR}/{env_name}.json "
                               f"(`letterhead sync --env {env_name}` writes it)")
    return None


# -- the deployed-names file ----------------------------------------------------------------


def deployed_path(config: Config, env_name: str | None) -> Path:
    return config.ses_dir / DEPLOYED_DIR / f"{env_name or DEFAULT_ENV_FILE}.json"


def write_deployed(config: Config, ns: Namespace, deployed: Mapping[str, str]) -> str:
    """Write logical → deployed names of a plan (``SyncPlan.deployed``) for
    the sending side (only when they changed)."""
    path = deployed_path(config, ns.env)
    text = dumps({"format": 1, "generator": "letterhead", **ns.to_dict(),
                  "templates": dict(sorted(deployed.items()))})
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return config.rel(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return config.rel(path)


def deployed_names(config: Config, env_name: str | None = None) -> dict[str, str]:
    """logical → deployed name as the last sync of ``env_name`` wrote them."""
    path = deployed_path(config, env_name)
    if not path.is_file():
        synced = "env " + repr(env_name) if env_name else "the default env"
        option = " --env " + env_name if env_name else ""
        raise LetterheadError(f"no {config.rel(path)}: nothing synced for {synced} yet",
                              hint=f"run `letterhead sync{option}`, or compute names with "
                                   "namespace_for(config, env).deployed_name(logical, content_hash)")
    return dict(json.loads(path.read_text(encoding="utf-8"))["templates"])
