"""The few names newsmon takes from inside its libraries, outside their public API.

trafilatura exports only what its ``__all__`` lists and feedparser documents
only ``parse``; the extractor and the feed guard need a little more. Every
such name comes through here, so an upgrade that moves or drops one fails at
import with the library, its version and the missing name, instead of
somewhere in the middle of an extraction (tests/test_thirdparty.py checks what
each one still does).
"""
from __future__ import annotations

import importlib
from importlib.metadata import version
from typing import Any


class LibraryChanged(ImportError):
    """A library no longer has a name newsmon relies on."""


def internal(module: str, name: str) -> Any:
    """`module.name`, or a LibraryChanged naming the library, its version and the name."""
    library = module.partition(".")[0]
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise LibraryChanged(f"{library} {version(library)} has no {module}.{name}, which newsmon uses: "
                             f"adapt newsmon/analysis/thirdparty.py to this version") from None


# trafilatura: the title heuristics, the doctype check of load_html, and the
# tree helpers the extractor runs on the tree bare_extraction returns.
extract_title = internal("trafilatura.metadata", "extract_title")
DOCTYPE_TAG = internal("trafilatura.utils", "DOCTYPE_TAG")
delete_element = internal("trafilatura.xml", "delete_element")
xmltotxt = internal("trafilatura.xml", "xmltotxt")

# feedparser: the bytes and DOCTYPE handling its parser applies, so the entity
# guard looks at exactly what feedparser would parse.
convert_to_utf8 = internal("feedparser.encodings", "convert_to_utf8")
replace_doctype = internal("feedparser.sanitizer", "replace_doctype")
