"""Which stored template a send uses: ``ses_templates/`` as the sender reads
it, the locale variant a recipient's locale picks, the name SES stores it
under, and the receipt a send returns.

Locales (issue 13): SES has no notion of language, so each locale of a
template is its own stored template (``coparent_invitation__es``; the
default locale keeps the plain name).  The application sends the *logical*
name with a locale; :meth:`TemplateCatalog.resolve` picks the variant with
:func:`letterhead.locales.pick` (``es-MX`` → ``es_MX`` → ``es`` → the
default).  A variant's own name is accepted as is.  A project without
locales ignores the locale.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import sestemplate
from ..authoring.payload import Manifest, ManifestEntry, SesTemplate
from ..authoring.swap import settle
from ..deploy.naming import Namespace
from ..errors import ConfigError
from ..locales import parse_locale, pick

__all__ = ["CatalogItem", "SendReceipt", "TemplateCatalog", "deployed_name"]


def deployed_name(entry: ManifestEntry, namespace: Namespace | None = None) -> str:
    """The name SES stores a template under, for the sending side.

    In order: the manifest's ``deployed_name`` when the build or a deploy
    pinned one; else the sync namespace's name (``namespace`` is a
    :class:`letterhead.deploy.naming.Namespace`: an env prefix/suffix, or in versioned
    mode ``<logical>-v<first 10 hex of content_hash>``, which is exactly the
    version this ``ses_templates/`` holds); else the logical name."""
    if entry.deployed_name:
        return entry.deployed_name
    if namespace is not None:
        return namespace.deployed_name(entry.name, entry.content_hash)
    return entry.name


@dataclass(frozen=True)
class CatalogItem:
    entry: ManifestEntry
    payload: SesTemplate
    parsed: Mapping[str, sestemplate.Template]
    deployed_name: str

    @property
    def locale(self) -> str | None:
        """The variant's locale; None in a project without locales."""
        return self.entry.locale or None


class TemplateCatalog:
    """``ses_templates/`` as the sender reads it: the manifest once, each
    payload parsed on first use and kept (thread-safe)."""

    def __init__(self, ses_dir: str | Path, *, namespace: Namespace | None = None) -> None:
        self.ses_dir = Path(ses_dir)
        self.namespace = namespace
        self._lock = threading.Lock()
        self._manifest: Manifest | None = None
        self._items: dict[str, CatalogItem] = {}

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            settle(self.ses_dir)  # a build killed mid-swap: finish it (letterhead.authoring.swap) before reading
            if not (self.ses_dir / "manifest.json").is_file():
                raise ConfigError(f"no manifest.json in {self.ses_dir}",
                                  hint="run `letterhead build` and ship ses_templates/ with the application "
                                       "(or pass ses_dir=)")
            self._manifest = Manifest.load(self.ses_dir)
        return self._manifest

    def names(self) -> list[str]:
        """The templates as the application names them (locale variants not listed)."""
        return self.manifest.logical_names()

    def _unknown(self, template: str) -> ConfigError:
        names = self.names()
        near = difflib.get_close_matches(str(template), names, n=1)
        return ConfigError(f"no template {template!r} in {self.ses_dir}",
                           hint=(f"did you mean {near[0]!r}? " if near else "")
                           + f"templates: {', '.join(names) or 'none'}")

    def get(self, template: str) -> CatalogItem:
        """The entry named exactly ``template`` (a logical name or a variant's)."""
        item = self._items.get(template)
        if item is not None:
            return item
        with self._lock:
            item = self._items.get(template)
            if item is not None:
                return item
            entry = self.manifest.templates.get(template)
            path = self.ses_dir / f"{template}.json"
            if entry is None or not path.is_file():
                raise self._unknown(template)
            from ..authoring.validate import parse_payload

            payload = SesTemplate.load(path)
            item = CatalogItem(entry, payload, parse_payload(payload), deployed_name(entry, self.namespace))
            self._items[template] = item
            return item

    def resolve(self, template: str, locale: str | None = None) -> tuple[CatalogItem, str | None]:
        """The variant of ``template`` for ``locale``, and the locale it is in.

        ``template`` is the logical name; with ``locale`` and variants in the
        manifest, the best variant by the fallback chain (``es-MX`` →
        ``es_MX`` → ``es`` → the default locale; an unknown or unparsable
        locale gets the default).  Without ``locale``, the default locale's
        (the plain name).  A variant's own name is used as is, whatever
        ``locale`` says.  A project without locales ignores ``locale`` and
        reports None."""
        entry = self.manifest.templates.get(template)
        if entry is None:
            raise self._unknown(template)
        chosen = entry.name
        if entry.variants and locale is not None:  # only a plain-named entry lists variants
            default = self.manifest.default_locale or entry.locale
            chosen = entry.variants.get(pick(locale, entry.variants, default), entry.name)
        item = self.get(chosen)
        return item, item.locale


class SendReceipt(str):
    """What :meth:`Mailer.send <letterhead.sending.mailer.Mailer.send>` returns:
    the message id (it *is* that string, so code that keeps the return value
    as the id keeps working), and which template and locale were used.

    ``template``: the logical name; ``variant``: the name of the variant
    sent (``coparent_invitation__es``; the logical name for the default
    locale or a project without locales); ``deployed_name``: the name SES
    stores it under; ``locale``: the variant's locale (None in a project
    without locales); ``requested_locale``: the locale asked for, as given."""

    __slots__ = ("deployed_name", "locale", "requested_locale", "template", "variant")

    template: str
    variant: str
    deployed_name: str
    locale: str | None
    requested_locale: str | None

    def __new__(cls, message_id: str, *, template: str = "", variant: str = "", deployed_name: str = "",
                locale: str | None = None, requested_locale: str | None = None) -> SendReceipt:
        self = super().__new__(cls, message_id)
        self.template = template
        self.variant = variant or template
        self.deployed_name = deployed_name or self.variant
        self.locale = locale
        self.requested_locale = requested_locale
        return self

    def __getnewargs__(self) -> tuple[str]:  # pickle/copy: the id; the rest is restored from the slots
        return (str(self),)

    @property
    def message_id(self) -> str:
        return str(self)

    @property
    def fell_back(self) -> bool:
        """A locale was asked for and not sent exactly (``es-MX`` sent as
        ``es``, an unknown locale or a project without locales)."""
        if self.requested_locale is None:
            return False
        return self.locale is None or parse_locale(self.requested_locale) != self.locale

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "template": self.template, "variant": self.variant,
                "deployed_name": self.deployed_name, "locale": self.locale,
                "requested_locale": self.requested_locale, "fell_back": self.fell_back}
