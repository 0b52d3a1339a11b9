"""What newsmon takes from inside trafilatura and feedparser still does what newsmon relies on.

An upgrade that moves a name fails at import (LibraryChanged, naming library,
version and name); one that keeps the name but changes what it does fails here.
"""
from __future__ import annotations

import pytest
from lxml import etree
from trafilatura import bare_extraction, load_html

from newsmon.analysis import thirdparty

PAGE = ("<!DOCTYPE html><html><head><title>Border talks resume in Brussels</title></head><body>"
        "<article><h1>Border talks resume in Brussels</h1>"
        + "".join(f"<p>Paragraph {n}: the delegations of Armenia and Azerbaijan met again to discuss the "
                  f"delimitation of the border and the reopening of transport links.</p>" for n in range(6))
        + "</article></body></html>")


def test_a_missing_name_fails_naming_the_library_its_version_and_the_name():
    with pytest.raises(ImportError) as error:
        thirdparty.internal("feedparser.sanitizer", "no_such_helper")
    message = str(error.value)
    assert "feedparser 6." in message and "feedparser.sanitizer.no_such_helper" in message
    assert "thirdparty.py" in message


def test_trafilatura_title_doctype_and_tree_helpers():
    tree = load_html(PAGE)
    assert thirdparty.extract_title(tree) == "Border talks resume in Brussels"
    # what load_html's repair mends: a DOCTYPE with a slash (an XHTML one), not the plain HTML5 one
    assert thirdparty.DOCTYPE_TAG.match('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
                                        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">')
    assert not thirdparty.DOCTYPE_TAG.match("<!DOCTYPE html>")
    doc = etree.fromstring("<doc><p>one</p>kept tail<p>two</p></doc>")
    thirdparty.delete_element(doc[0])
    assert etree.tostring(doc) == b"<doc>kept tail<p>two</p></doc>"
    assert thirdparty.xmltotxt(etree.fromstring("<doc><p>one</p><p>two</p></doc>"), False) == "one\ntwo"


def test_trafilatura_bare_extraction_still_hands_over_a_body_tree():
    document = bare_extraction(load_html(PAGE), include_links=True, include_tables=True)
    assert isinstance(document.body, etree._Element)
    assert "Paragraph 5" in thirdparty.xmltotxt(document.body, False)


def test_feedparser_converts_to_utf8_and_finds_declared_entities():
    body = '<?xml version="1.0" encoding="windows-1251"?><rss>Переговоры</rss>'.encode("cp1251")
    converted = thirdparty.convert_to_utf8({"content-type": "application/xml; charset=windows-1251"}, body, {})
    assert "Переговоры".encode("utf-8") in converted
    declared = b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "b">\n]>\n<rss version="2.0">&a;</rss>'
    _version, _stripped, entities = thirdparty.replace_doctype(declared)
    assert entities == {"a": "b"}
