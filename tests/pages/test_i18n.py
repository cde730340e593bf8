"""The pages' strings: every key in both languages, numbers written as each language does."""

from __future__ import annotations

import re

import api.pages  # noqa: F401  (every page module, and the strings it adds)
from api.pages import i18n


def test_every_key_exists_in_both_languages() -> None:
    nl, en = (set(i18n.STRINGS[lang]) for lang in i18n.LANGS)
    assert nl - en == set(), "missing in English"
    assert en - nl == set(), "missing in Dutch"


def test_both_languages_take_the_same_placeholders() -> None:
    for key, dutch in i18n.STRINGS["nl"].items():
        fields = set(re.findall(r"{(\w+)}", dutch))
        assert fields == set(re.findall(r"{(\w+)}", i18n.STRINGS["en"][key])), key


def test_templates_use_only_known_keys() -> None:
    from api.pages.render import TEMPLATES

    known = set(i18n.STRINGS["nl"])
    for p in TEMPLATES.glob("*.html"):
        for key, joined in re.findall(r"""\bt\(\s*'([^']+)'\s*(~?)""", p.read_text()):
            # t('home.uc.' ~ use_case): a key built from a prefix; some key must have it.
            assert (any(k.startswith(key) for k in known) if joined else key in known), \
                (p.name, key)


def test_numbers_as_each_language_writes_them() -> None:
    assert i18n.number(1350, "nl") == "1.350"
    assert i18n.number(1350, "en") == "1,350"
    assert i18n.number(21.46, "nl", 1) == "21,5"
    assert i18n.number(1234567.891, "en", 2) == "1,234,567.89"
    assert i18n.number(None, "nl") == i18n.NONE
    assert i18n.number(float("nan"), "en") == i18n.NONE
    assert i18n.percent(0.425, "nl") == "42 %"


def test_language_from_the_query() -> None:
    assert i18n.lang_of("en") == "en" and i18n.lang_of(" EN ") == "en"
    for other in (None, "", "nl", "de", "\x00", "en" * 1000):
        assert i18n.lang_of(other) == "nl"
