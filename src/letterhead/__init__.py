"""letterhead: transactional email as code for AWS SES.

The importable API (the CLI is a thin layer over it)::

    from letterhead import load_config, build, prepare_data
    result = build(load_config())              # templates_src/ → build/, ses_templates/
    data = prepare_data({"inviter_name": "Sam"})  # TemplateData for a letterhead template
"""

__version__ = "0.1.0"

from .build import BuildResult, build  # noqa: E402
from .compile import CompiledTemplate, Compiler  # noqa: E402
from .config import Config, load_config  # noqa: E402
from .errors import LetterheadError  # noqa: E402
from .payload import Manifest, SesTemplate  # noqa: E402
from .safety import prepare_data  # noqa: E402

__all__ = [
    "BuildResult",
    "CompiledTemplate",
    "Compiler",
    "Config",
    "LetterheadError",
    "Manifest",
    "SesTemplate",
    "__version__",
    "build",
    "load_config",
    "prepare_data",
]
