"""Which locales read right to left (a variant gets ``dir="rtl"`` and is
mirrored: tests/test_rtl.py).  letterhead decides it from the locale's name,
by a rule made from CLDR's character order; this checks the rule against
every locale Babel knows, so a Babel upgrade that changes CLDR fails here."""

from __future__ import annotations

import pytest
from babel import Locale, localedata

from letterhead.locales import is_rtl


def test_the_rule_agrees_with_cldr_for_every_locale_babel_knows() -> None:
    known = localedata.locale_identifiers()
    assert len(known) > 700
    wrong = [i for i in known if is_rtl(i) != (Locale.parse(i).character_order == "right-to-left")]
    assert wrong == []


@pytest.mark.parametrize("locale,rtl", [
    ("ar", True), ("ar_EG", True), ("he", True), ("fa_IR", True), ("ur", True), ("yi", True),
    ("az_Arab", True), ("pa_Arab_PK", True), ("ff_Adlm_GN", True),
    ("en", False), ("es_MX", False), ("pt_BR", False), ("az", False), ("pa", False), ("ff", False),
    ("zh_Hant_TW", False), ("ks_Deva", False), ("sd_Deva_IN", False),
    ("pt-BR", False), ("ar-EG", True), ("", False),
])
def test_examples(locale: str, rtl: bool) -> None:
    assert is_rtl(locale) is rtl
