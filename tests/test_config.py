"""sources.yaml: the shipped file is valid; a bad line is one clear error naming source and key."""
from __future__ import annotations

import pytest

from newsmon.core.config import ConfigError, load_sources, source_named


def write(tmp_path, text: str):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sources_are_valid_and_cover_both_sides():
    sources = load_sources()
    countries = {s.country for s in sources}
    assert {"AM", "AZ", "RU", "TR", "INT"} <= countries
    assert {"rss", "site", "telegram"} == {s.kind for s in sources}
    assert len({s.name for s in sources}) == len(sources)


@pytest.mark.parametrize("text, expected", [
    ("sources:\n  - {name: a, kind: rss, url: 'http://x/feed', colour: red}\n", "source 'a': unknown key 'colour'"),
    ("sources:\n  - {name: a, kind: atom, url: 'http://x/feed'}\n", "source 'a': 'kind' must be one of rss, site, telegram"),
    ("sources:\n  - {name: a, kind: rss, url: 'ftp://x/feed'}\n", "source 'a': 'url' must be an http(s) URL"),
    ("sources:\n  - {name: a, kind: site}\n", "needs 'start_urls' or 'sitemap_urls'"),
    ("sources:\n  - {name: a, kind: site, start_urls: [x]}\n", "'start_urls' holds a value that is not an http(s) URL"),
    ("sources:\n  - {name: a, kind: rss, url: 'http://x', max_interval: soon}\n", "source 'a': invalid literal"),
    ("sources:\n  - {name: a, kind: rss, url: 'http://x'}\n  - {name: a, kind: rss, url: 'http://y'}\n",
     "source name 'a' is used twice"),
    ("sources: [\n", "not valid YAML"),
    ("feeds: []\n", "expected a top-level 'sources:' list"),
    ("sources:\n  - {kind: rss, url: 'http://x'}\n", "source #1 has no 'name'"),
])
def test_bad_config_is_one_clear_line(tmp_path, text, expected):
    with pytest.raises(ConfigError) as error:
        load_sources(write(tmp_path, text))
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(ConfigError, match="sources file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_outlet_defaults_to_the_web_host_and_can_be_named(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("""sources:
  - {name: asbarez-en, kind: rss, url: 'https://www.asbarez.com/feed/'}
  - {name: asbarez-hy, kind: rss, url: 'https://asbarez.com/hy/feed/'}
  - {name: mod-az, kind: rss, url: 'https://mod.gov.az/rss', outlet: mod-az, outlet_type: official, country: AZ}
  - {name: local, kind: rss, url: 'http://127.0.0.1:8000/feed.xml'}
""", encoding="utf-8")
    sources = {s.name: s for s in load_sources(path)}
    assert sources["asbarez-en"].outlet == sources["asbarez-hy"].outlet == "asbarez.com"
    assert (sources["mod-az"].outlet, sources["mod-az"].outlet_type) == ("mod-az", "official")
    assert sources["local"].outlet == "local"          # loopback: every source its own outlet
    assert sources["asbarez-hy"].settings["outlet"] == "asbarez.com"   # stored with the source


def test_an_unknown_outlet_type_is_one_error(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {name: x, kind: rss, url: 'https://x.am/feed', outlet_type: blog}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="source 'x': 'outlet_type' must be one of"):
        load_sources(path)


def test_a_source_is_found_by_name_and_a_missing_one_is_a_config_error(tmp_path):
    path = write(tmp_path, "sources:\n  - {name: a, kind: site, sitemap_urls: ['http://x/sitemap.xml']}\n")
    source = source_named("a", path)
    assert (source.kind, source.first_url) == ("site", "http://x/sitemap.xml")
    with pytest.raises(ConfigError, match=f"no source named 'b' in {path}"):
        source_named("b", path)
