"""Configuration files: where they are, and sources.yaml read with clear errors.

A bad line is a ``ConfigError`` naming the source and the key, raised before
anything runs, never a crash in the middle of a cycle.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from models.engine import PROJECT_ROOT

CONFIG_DIR = PROJECT_ROOT / "config"
KINDS = ("rss", "site")
COMMON_KEYS = {"name", "kind", "language", "country", "enabled", "topic_specific",
               "min_interval", "max_interval"}
KIND_KEYS = {
    "rss": {"url"},
    "site": {"url", "start_urls", "sitemap_urls", "allowed_domains", "article_url_pattern",
             "max_pages", "follow_pagination"},
}
DEFAULT_MIN_INTERVAL = 5 * 60          # seconds between polls of a busy feed
DEFAULT_MAX_INTERVAL = 6 * 60 * 60     # seconds between polls of a quiet feed


class ConfigError(ValueError):
    """A configuration problem, with a one-line message for the user."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None = None
    language: str | None = None
    country: str | None = None          # outlet's country/side (AM, AZ, RU, TR, INT...) for charts
    enabled: bool = True
    topic_specific: bool = False        # every entry is about the conflict: always fetch full text
    min_interval: int = DEFAULT_MIN_INTERVAL
    max_interval: int = DEFAULT_MAX_INTERVAL
    start_urls: tuple[str, ...] = ()
    sitemap_urls: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    article_url_pattern: str | None = None
    max_pages: int = 200
    follow_pagination: bool = True
    settings: dict = field(default_factory=dict, compare=False)


def config_path(name: str) -> Path:
    return CONFIG_DIR / name


def sources_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("NEWSMON_SOURCES") or config_path("sources.yaml"))


def load_sources(path: str | Path | None = None) -> list[SourceConfig]:
    """Read and validate sources.yaml; raises ConfigError with a one-line reason."""
    path = sources_path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sources file not found: {path}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {_one_line(error)}") from None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a top-level 'sources:' list")
    sources = [_parse_source(entry, index, path) for index, entry in enumerate(entries, 1)]
    _check_unique_names(sources, path)
    return sources


def _parse_source(entry, index: int, path: Path) -> SourceConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: source #{index} is not a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}: source #{index} has no 'name'")
    where = f"{path}: source '{name}'"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    unknown = sorted(set(entry) - COMMON_KEYS - KIND_KEYS[kind])
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' for a {kind} source")
    if kind == "rss" and not _is_http(entry.get("url")):
        raise ConfigError(f"{where}: 'url' must be an http(s) URL")
    if kind == "site" and not (entry.get("start_urls") or entry.get("sitemap_urls")):
        raise ConfigError(f"{where}: a site source needs 'start_urls' or 'sitemap_urls'")
    try:
        return _build_source(entry, name, kind)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {_one_line(error)}") from None


def _build_source(entry: dict, name: str, kind: str) -> SourceConfig:
    urls = {key: _url_list(entry.get(key), key) for key in ("start_urls", "sitemap_urls")}
    return SourceConfig(
        name=name.strip(), kind=kind, url=entry.get("url"), language=entry.get("language"),
        country=entry.get("country"), enabled=bool(entry.get("enabled", True)),
        topic_specific=bool(entry.get("topic_specific", False)),
        min_interval=int(entry.get("min_interval", DEFAULT_MIN_INTERVAL)),
        max_interval=int(entry.get("max_interval", DEFAULT_MAX_INTERVAL)),
        start_urls=urls["start_urls"], sitemap_urls=urls["sitemap_urls"],
        allowed_domains=tuple(str(d) for d in entry.get("allowed_domains") or ()),
        article_url_pattern=entry.get("article_url_pattern"),
        max_pages=int(entry.get("max_pages", 200)),
        follow_pagination=bool(entry.get("follow_pagination", True)),
        settings=dict(entry),
    )


def _url_list(value, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else list(value)
    for url in values:
        if not _is_http(url):
            raise ValueError(f"'{key}' holds a value that is not an http(s) URL: {url!r}")
    return tuple(values)


def _check_unique_names(sources: list[SourceConfig], path: Path) -> None:
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise ConfigError(f"{path}: source name '{source.name}' is used twice")
        seen.add(source.name)


def _is_http(url) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
