"""Configuration files: where they are, how they are read, and sources.yaml.

All three files (sources.yaml, topic.yaml, escalation.yaml) are found the same
way (an explicit path, else ``$NEWSMON_HOME/config/``, else the project's
``config/``), read by ``read_yaml`` and fail the same way: a ``ConfigError``
naming the file and the key, raised before anything runs, never a crash in the
middle of a cycle. Relative paths are resolved against the caller's working
directory at once, so subprocesses started elsewhere see the same file.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from newsmon.core.errors import ConfigError, one_line

# The checkout (or NEWSMON_HOME): where config/ and var/ live. models.engine derives the
# same root for the default database; analysis must not import models, hence the twin.
PROJECT_ROOT = Path(os.environ.get("NEWSMON_HOME") or Path(__file__).resolve().parents[2])

__all__ = ["ConfigError", "SilenceConfig", "SourceConfig", "config_path", "load_silence", "load_sources", "read_yaml",
           "source_named", "sources_path"]

KINDS = ("rss", "site", "telegram")
OUTLET_TYPES = ("state", "official", "independent", "international")
COMMON_KEYS = {"name", "kind", "language", "country", "outlet", "outlet_type", "enabled", "topic_specific",
               "min_interval", "max_interval"}
KIND_KEYS = {
    "rss": {"url"},
    "site": {"url", "start_urls", "sitemap_urls", "allowed_domains", "article_url_pattern",
             "max_pages", "follow_pagination"},
    # a public channel read from its web preview; preview_url replaces https://t.me/s/ (a local copy)
    "telegram": {"channel", "preview_url", "max_pages"},
}
TELEGRAM_PREVIEW = "https://t.me/s/"
TELEGRAM_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")   # Telegram's rule for public usernames
TELEGRAM_MAX_PAGES = 5                 # preview pages (about 20 posts each) read per poll to catch up
DEFAULT_MIN_INTERVAL = 5 * 60          # seconds between polls of a busy feed
DEFAULT_MAX_INTERVAL = 6 * 60 * 60     # seconds between polls of a quiet feed
MAX_NAME_LENGTH = 200                  # the sources.name column
MAX_INTERVAL_LIMIT = 366 * 24 * 60 * 60
# YAML 1.1 words for yes and no, so that a quoted `enabled: "false"` means false.
BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False}


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None = None
    language: str | None = None
    country: str | None = None          # outlet's country/side (AM, AZ, RU, TR, INT...) for charts
    outlet: str = ""                    # the organisation: feeds/channels of one outlet share it
    outlet_type: str | None = None      # state | official | independent | international
    enabled: bool = True
    topic_specific: bool = False        # every entry is about the conflict: always fetch full text
    min_interval: int = DEFAULT_MIN_INTERVAL
    max_interval: int = DEFAULT_MAX_INTERVAL
    start_urls: tuple[str, ...] = ()
    sitemap_urls: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    article_url_pattern: str | None = None
    max_pages: int = 200                # site: pages crawled; telegram: preview pages read per poll
    follow_pagination: bool = True
    settings: dict = field(default_factory=dict, compare=False)

    @property
    def first_url(self) -> str | None:
        """The source's own address: its feed URL, else its first start or sitemap URL."""
        urls = (self.url,) + self.start_urls + self.sitemap_urls
        return next((url for url in urls if url), None)


def config_path(name: str, explicit: str | Path | None = None) -> Path:
    """Absolute path of a config file: `explicit` if given, else the config folder's `name`."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    home = os.environ.get("NEWSMON_HOME")
    return (Path(home).expanduser().resolve() if home else PROJECT_ROOT) / "config" / name


# libyaml's loader when PyYAML was built with it: ten times faster on a sources.yaml of 500 feeds,
# which every Airflow task reads.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, what: str):
    """The parsed YAML document at `path`; a missing or malformed file is one ConfigError line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {what} file: {error.strerror or one_line(error)}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {one_line(getattr(error, 'problem', None) or error)}") \
            from None


def sources_path(path: str | Path | None = None) -> Path:
    return config_path("sources.yaml", path or os.environ.get("NEWSMON_SOURCES"))


def load_sources(path: str | Path | None = None) -> list[SourceConfig]:
    """Read and validate sources.yaml; raises ConfigError with a one-line reason."""
    path = sources_path(path)
    document = read_yaml(path, "sources")
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a top-level 'sources:' list")
    sources = [_parse_source(entry, index, path) for index, entry in enumerate(entries, 1)]
    _check_unique_names(sources, path)
    return sources


def source_named(name: str, path: str | Path | None = None) -> SourceConfig:
    """The named source of sources.yaml; ConfigError when there is none."""
    for source in load_sources(path):
        if source.name == name:
            return source
    raise ConfigError(f"no source named {name!r} in {sources_path(path)}")


@dataclass(frozen=True)
class SilenceConfig:
    """sources.yaml `silence:`: alert when these outlets, or every outlet of these sides, go quiet."""

    outlets: tuple[str, ...] = ()        # ("*",): every outlet
    sides: tuple[str, ...] = ()          # countries: AM, AZ...
    after: int | None = None             # seconds without a new item; None: each source's own rhythm


SILENCE_KEYS = {"outlets", "sides", "after"}
DURATION = re.compile(r"^(\d+)\s*([mhd])$")
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}


def load_silence(path: str | Path | None = None) -> SilenceConfig | None:
    """The optional `silence:` section of sources.yaml (None: off, the default)."""
    path = sources_path(path)
    document = read_yaml(path, "sources")
    section = document.get("silence") if isinstance(document, dict) else None
    if section is None:
        return None
    where = f"{path}: silence"
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a mapping with outlets, sides and after")
    unknown = sorted(set(section) - SILENCE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'")
    outlets = section.get("outlets") or ()
    outlets = ("*",) if outlets == "all" else tuple(str(o) for o in _as_list(outlets, f"{where}.outlets"))
    sides = tuple(str(s) for s in _as_list(section.get("sides") or (), f"{where}.sides"))
    if not (outlets or sides):
        raise ConfigError(f"{where}: name 'outlets' (a list, or all) or 'sides' (countries)")
    return SilenceConfig(outlets=outlets, sides=sides, after=_duration(section.get("after"), f"{where}.after"))


def _as_list(value, where: str) -> list:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, not {value!r}")
    return list(value)


def _duration(value, where: str) -> int | None:
    if value is None:
        return None
    match = DURATION.match(str(value).strip())
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"{where}: expected a duration such as 90m, 12h or 2d, not {value!r}")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def _parse_source(entry, index: int, path: Path) -> SourceConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: source #{index} is not a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}: source #{index} has no 'name'")
    where = f"{path}: source '{name}'"
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise ConfigError(f"{path}: source '{name[:40]}…' has a name over {MAX_NAME_LENGTH} characters")
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
    if kind == "telegram":
        entry = _telegram_entry(entry, where)
    if entry.get("outlet_type") not in (None, *OUTLET_TYPES):
        raise ConfigError(f"{where}: 'outlet_type' must be one of {', '.join(OUTLET_TYPES)}, "
                          f"not {entry.get('outlet_type')!r}")
    try:
        return _checked(_build_source(entry, name, kind))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {one_line(error)}") from None


def _telegram_entry(entry: dict, where: str) -> dict:
    """The entry with its preview page as ``url``: polled like a feed, checked by the same safety rules."""
    channel = entry.get("channel")
    if not isinstance(channel, str) or not TELEGRAM_CHANNEL.match(channel.lstrip("@")):
        raise ConfigError(f"{where}: 'channel' must be a public channel name (5-32 letters, digits, _), "
                          f"not {channel!r}")
    base = entry.get("preview_url", TELEGRAM_PREVIEW)
    if not _is_http(base):
        raise ConfigError(f"{where}: 'preview_url' must be an http(s) URL")
    channel = channel.lstrip("@")
    # one channel is its own outlet unless sources.yaml groups it (t.me is no organisation)
    return {"outlet": channel, **entry, "channel": channel, "url": base.rstrip("/") + "/" + channel}


def _checked(source: SourceConfig) -> SourceConfig:
    """Values that parse but cannot work: raised as ValueError, named by key."""
    if source.min_interval < 1:
        raise ValueError(f"'min_interval' must be at least 1 second, not {source.min_interval}")
    if source.max_interval > MAX_INTERVAL_LIMIT:    # beyond that, the next poll time would overflow
        raise ValueError(f"'max_interval' must be at most {MAX_INTERVAL_LIMIT} seconds (a year), "
                         f"not {source.max_interval}")
    if source.max_interval < source.min_interval:
        raise ValueError(f"'max_interval' ({source.max_interval}) must be at least "
                         f"'min_interval' ({source.min_interval})")
    if source.max_pages < 1:
        raise ValueError(f"'max_pages' must be at least 1, not {source.max_pages}")
    if source.article_url_pattern is not None:
        try:
            re.compile(source.article_url_pattern)
        except (re.error, TypeError) as error:
            raise ValueError(f"'article_url_pattern' is not a valid regular expression: {error}") from None
    return source


def _build_source(entry: dict, name: str, kind: str) -> SourceConfig:
    urls = {key: _url_list(entry.get(key), key) for key in ("start_urls", "sitemap_urls")}
    outlet = str(entry.get("outlet") or _default_outlet(entry.get("url") or next(
        iter(urls["start_urls"] + urls["sitemap_urls"]), None)) or name.strip())
    return SourceConfig(
        name=name.strip(), kind=kind, url=entry.get("url"), language=entry.get("language"),
        country=entry.get("country"), outlet=outlet, outlet_type=entry.get("outlet_type"),
        enabled=_boolean(entry.get("enabled", True), "enabled"),
        topic_specific=_boolean(entry.get("topic_specific", False), "topic_specific"),
        min_interval=int(entry.get("min_interval", DEFAULT_MIN_INTERVAL)),
        max_interval=int(entry.get("max_interval", DEFAULT_MAX_INTERVAL)),
        start_urls=urls["start_urls"], sitemap_urls=urls["sitemap_urls"],
        allowed_domains=tuple(str(d) for d in entry.get("allowed_domains") or ()),
        article_url_pattern=entry.get("article_url_pattern"),
        max_pages=int(entry.get("max_pages", TELEGRAM_MAX_PAGES if kind == "telegram" else 200)),
        follow_pagination=_boolean(entry.get("follow_pagination", True), "follow_pagination"),
        settings=dict(entry) | {"outlet": outlet},
    )


def _boolean(value, key: str) -> bool:
    """A YAML boolean, or one of its words written as a string ("false", "no", ...)."""
    if isinstance(value, bool):
        return value
    word = BOOLEAN_WORDS.get(str(value).strip().lower()) if isinstance(value, (str, int)) else None
    if word is None:
        raise ValueError(f"'{key}' must be true or false, not {value!r}")
    return word


def _default_outlet(url: str | None) -> str | None:
    """An outlet is its web host without ``www.``: two feeds of one site are one outlet.

    On a loopback or private host (tests, the offline demo) every source is its
    own outlet, since one local server stands in for many sites.
    """
    host = (urlsplit(url).hostname or "") if url else ""
    if not host or host == "localhost" or host.replace(".", "").isdigit() or ":" in host:
        return None
    return host.removeprefix("www.")


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
