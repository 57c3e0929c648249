"""``[tool.letterhead.check]``, checked into :class:`CheckOptions`.

    [tool.letterhead.check]
    clients = ["gmail", "outlook/windows", "apple-mail", "yahoo"]  # caniemail names
    spam-threshold = 5.0       # SpamAssassin's own default required score
    min-contrast = 4.5         # WCAG AA for body text (large text: 3.0)
    chromium = "/usr/bin/chromium"
    jobs = 2                   # SpamAssassin children scoring in parallel
    [tool.letterhead.check.images]   # check images offline: URL prefix → folder
    "https://calndr.club/static/email/" = "assets/email/"

The severity of each finding is tuned where every rule is, in
``[tool.letterhead.lint]`` (``client-support = "error"``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, toml_key_lines
from ..errors import ConfigError, Location
from .clients import DEFAULT_CLIENTS, Client, parse_clients

KEYS = ("clients", "spam-threshold", "min-contrast", "chromium", "jobs", "images")
WHERE = "[tool.letterhead.check]"


@dataclass(frozen=True)
class CheckOptions:
    clients: tuple[Client, ...]
    spam_threshold: float = 5.0
    min_contrast: float = 4.5
    chromium: str | None = None
    jobs: int = 2
    images: Mapping[str, Path] = field(default_factory=dict)


def check_options(config: Config) -> CheckOptions:
    """The project's check settings; a mistake is a :class:`ConfigError` at
    its line of pyproject.toml, with the fix."""
    settings = config.check
    values = settings.values

    def at(key: str) -> Location:
        return Location.of(settings.file, settings.lines.get(key))

    for key in values:
        if key not in KEYS:
            near = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            raise ConfigError(f"unknown setting {key!r} in {WHERE}", location=at(key),
                              hint=(f"did you mean {near[0]!r}? " if near else "") + f"settings: {', '.join(KEYS)}")
    clients = parse_clients(values.get("clients", list(DEFAULT_CLIENTS)), location=at("clients"))

    def number(key: str, default: float, low: float, high: float) -> float:
        value = values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ConfigError(f"{key} in {WHERE} must be a number from {low:g} to {high:g}, not {value!r}",
                              location=at(key), hint=f"{key} = {default:g}")
        return float(value)

    jobs = values.get("jobs", 2)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 64:
        raise ConfigError(f"jobs in {WHERE} must be a whole number from 1 to 64, not {jobs!r}",
                          location=at("jobs"), hint="jobs = 2")
    chromium = values.get("chromium")
    if chromium is not None and (not isinstance(chromium, str) or not chromium.strip()):
        raise ConfigError(f"chromium in {WHERE} must be the path of a Chromium binary", location=at("chromium"),
                          hint='chromium = "/usr/bin/chromium"')
    images_table = values.get("images", {})
    if not isinstance(images_table, Mapping):
        raise ConfigError(f"images in {WHERE} must be a table of URL prefix = folder", location=at("images"),
                          hint='[tool.letterhead.check.images]\n"https://cdn.example.com/email/" = "assets/email/"')
    images: dict[str, Path] = {}
    # written as its own table ([tool.letterhead.check.images], as the docs show it): each prefix's line
    image_lines = toml_key_lines(config.root / "pyproject.toml", "tool.letterhead.check.images")

    def at_image(prefix: object) -> Location:
        line = image_lines.get(str(prefix))
        return Location.of(settings.file, line) if line else at("images")

    for prefix, folder in images_table.items():
        if not str(prefix).startswith(("https://", "http://")) or not isinstance(folder, str):
            raise ConfigError(f"images in {WHERE}: {prefix!r} must map an http(s) URL prefix to a folder",
                              location=at_image(prefix),
                              hint='"https://cdn.example.com/email/" = "assets/email/"')
        path = (config.root / folder).resolve()
        if not path.is_dir():
            raise ConfigError(f"images in {WHERE}: folder {folder!r} for {prefix} does not exist",
                              location=at_image(prefix), hint="a folder of the project holding the images")
        images[str(prefix)] = path
    return CheckOptions(
        clients=clients,
        spam_threshold=number("spam-threshold", 5.0, 0.1, 1000.0),
        min_contrast=number("min-contrast", 4.5, 1.0, 21.0),
        chromium=chromium,
        jobs=jobs,
        images=images,
    )
