"""letterhead: transactional email as code for AWS SES.

The importable API (the CLI is a thin layer over it)::

    from letterhead import load_config, build_project, prepare_data
    result = build_project(load_config())         # templates_src/ → build/, ses_templates/
    data = prepare_data({"inviter_name": "Sam"})  # TemplateData for a letterhead template

Names are imported on first use, so a deploy job that only syncs or sends
never loads the MJML toolchain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BuildResult": "letterhead.authoring.build",
    "build_project": "letterhead.authoring.build",  # not "build": that is the module's name
    "CompiledTemplate": "letterhead.authoring.compile",
    "Compiler": "letterhead.authoring.compile",
    "Config": "letterhead.config",
    "load_config": "letterhead.config",
    "LetterheadError": "letterhead.errors",
    "Manifest": "letterhead.authoring.payload",
    "SesTemplate": "letterhead.authoring.payload",
    "prepare_data": "letterhead.authoring.safety",
}

# the keys of _EXPORTS, spelled out so linters and type checkers see the API
__all__ = [  # noqa: RUF022 - the version first, then the API as sorted() orders it
    "__version__",
    "BuildResult",
    "CompiledTemplate",
    "Compiler",
    "Config",
    "LetterheadError",
    "Manifest",
    "SesTemplate",
    "build_project",
    "load_config",
    "prepare_data",
]

if TYPE_CHECKING:  # pragma: no cover
    from .authoring.build import BuildResult, build_project
    from .authoring.compile import CompiledTemplate, Compiler
    from .authoring.payload import Manifest, SesTemplate
    from .authoring.safety import prepare_data
    from .config import Config, load_config
    from .errors import LetterheadError


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'letterhead' has no attribute {name!r}")
