"""The spoken text of one XHTML document of an EPUB: headings, paragraphs and list items become
paragraphs; footnotes, note references, scripts, styles and images are left out."""

from __future__ import annotations

from dataclasses import dataclass

from .chapters import sentence

# Elements that end a paragraph where they start and where they end.
BLOCKS = frozenset(
    "address article aside blockquote body br caption dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main ol p pre section table tbody td tfoot th thead tr ul".split()
)
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
UNSPOKEN = frozenset("head script style img svg math nav noscript rt rp audio video object iframe template".split())
# epub:type and ARIA role values that mark notes and references to them (EPUB 3 Structural Semantics).
NOTES = frozenset(
    "footnote footnotes endnote endnotes rearnote rearnotes note noteref annoref doc-footnote doc-endnote "
    "doc-endnotes doc-noteref doc-footnotes".split()
)
OPS_TYPE = "{http://www.idpf.org/2007/ops}type"


@dataclass(frozen=True)
class Document:
    heading: str | None  # the first heading, for a title
    paragraphs: list[str]  # headings included, each a spoken sentence
    has_body: bool  # any paragraph besides headings


def _unspoken(element, name: str) -> bool:
    if name in UNSPOKEN:
        return True
    marks = set((element.get(OPS_TYPE) or "").split()) | set((element.get("role") or "").split())
    marks |= {c for c in (element.get("class") or "").split() if c in ("footnote", "footnotes", "endnote", "endnotes")}
    return bool(marks & NOTES)


def _name(element) -> str | None:
    tag = element.tag
    if not isinstance(tag, str):  # a comment or processing instruction
        return None
    return tag.rsplit("}", 1)[-1].lower()


class _Collector:
    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.headings: list[int] = []  # indexes of the paragraphs that are headings
        self.buffer: list[str] = []

    def flush(self, heading: bool = False) -> None:
        text = " ".join("".join(self.buffer).split())
        self.buffer = []
        if text:
            if heading:
                self.headings.append(len(self.paragraphs))
                text = sentence(text)
            self.paragraphs.append(text)

    def walk(self, element) -> None:
        name = _name(element)
        if name is None or _unspoken(element, name):
            return
        block = name in BLOCKS
        if block:
            self.flush()
        self.buffer.append(element.text or "")
        for child in element:
            self.walk(child)
            self.buffer.append(child.tail or "")
        if block:
            self.flush(heading=name in HEADINGS)


def document_text(data: bytes) -> Document:
    """The text of an XHTML document (malformed markup is read as far as it goes)."""
    from lxml import etree

    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(data, parser) if data.strip() else None
    if root is None:  # not XML at all: try it as HTML
        from lxml import html

        try:
            root = html.document_fromstring(data)
        except (etree.ParserError, ValueError):
            return Document(None, [], False)
    body = next((e for e in root.iter() if _name(e) == "body"), root)
    collector = _Collector()
    collector.walk(body)
    collector.flush()
    paragraphs, headings = collector.paragraphs, collector.headings
    heading = paragraphs[headings[0]].rstrip(".") if headings else None
    return Document(heading, paragraphs, len(headings) < len(paragraphs))
