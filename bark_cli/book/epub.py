"""EPUB 2 and 3 books (ebooklib): chapters in spine order, titled from the navigation document or the NCX.

Each spine document that the table of contents points to (at any depth; fragments ignored) starts a
chapter with that entry's title; a document it does not point to continues the chapter before it. A book
without navigation gets a chapter per spine document, titled by its first heading. Spine documents marked
linear="no" (notes, answers) are not read. DRM-protected,
malformed and empty books are refused with one line naming the file.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote

from ..errors import BookInputError
from .chapters import Book, Cover, numbered
from .extras import require
from .xhtml import document_text

# encryption.xml algorithms that only obfuscate fonts (IDPF, Adobe): no DRM on the text.
FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
ENC = "{http://www.w3.org/2001/04/xmlenc#}"


def check_not_protected(path: Path) -> None:
    """BookInputError when ``path`` is no ZIP archive, or its content is encrypted (DRM)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "META-INF/rights.xml" in names:
                raise BookInputError(f"{path}: the EPUB is DRM-protected (META-INF/rights.xml); bark reads DRM-free books only")
            if "META-INF/encryption.xml" not in names:
                return
            data = archive.read("META-INF/encryption.xml")
    except (zipfile.BadZipFile, OSError) as exc:
        raise BookInputError(f"{path}: not an EPUB (cannot open it as a ZIP archive: {exc})") from None
    from lxml import etree

    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise BookInputError(f"{path}: unreadable META-INF/encryption.xml ({exc})") from None
    methods = {m.get("Algorithm") for m in root.iter(f"{ENC}EncryptionMethod")}
    if methods - FONT_OBFUSCATION:
        raise BookInputError(f"{path}: the EPUB is DRM-protected (encrypted content); bark reads DRM-free books only")


def _without_navigation(path: Path) -> io.BytesIO:
    """The EPUB in memory with its spine's reference to the NCX removed: ebooklib cannot open a book whose
    NCX is missing, and the spine alone still gives the chapters (and the EPUB 3 navigation document,
    where there is one, the titles)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    with zipfile.ZipFile(path) as archive:
        container = etree.fromstring(archive.read("META-INF/container.xml"), parser)
        opf = next(e.get("full-path") for e in container.iter() if str(e.tag).endswith("rootfile"))
        package = etree.fromstring(archive.read(opf), parser)
        for spine in (e for e in package.iter() if str(e.tag).endswith("spine")):
            spine.attrib.pop("toc", None)
        copy = io.BytesIO()
        with zipfile.ZipFile(copy, "w") as out:
            for info in archive.infolist():
                data = etree.tostring(package, xml_declaration=True, encoding="utf-8") if info.filename == opf else archive.read(info)
                out.writestr(info, data)
    copy.seek(0)
    return copy


def _toc_entries(toc, depth: int = 0) -> list[tuple[str, str]]:
    """(document path, title) for every table-of-contents entry, depth first (nested sections flattened)."""
    entries = []
    for entry in toc:
        if isinstance(entry, (tuple, list)):
            section, children = _toc_entries([entry[0]], depth), _toc_entries(entry[1], depth + 1)
            # A section pointing where one of its entries points (its first chapter) yields to that entry.
            entries += [s for s in section if s[0] not in {c[0] for c in children}] + children
            continue
        href, title = getattr(entry, "href", None), getattr(entry, "title", None)
        if href and title:
            entries.append((posixpath.normpath(unquote(href.split("#", 1)[0])), " ".join(str(title).split())))
    return entries


def _metadata(book, name: str) -> str | None:
    values = book.get_metadata("DC", name)
    return " ".join(str(values[0][0]).split()) or None if values else None


def _cover(book, ebooklib) -> Cover | None:
    """The cover image: the manifest's cover item (EPUB 3 property, EPUB 2 <meta name="cover">)."""
    candidates = list(book.get_items_of_type(ebooklib.ITEM_COVER))
    for value, attributes in book.get_metadata("OPF", "cover"):
        item = book.get_item_with_id(attributes.get("content", ""))
        if item is not None:
            candidates.append(item)
    for item in candidates:
        media_type = (item.media_type or "").lower()
        if media_type in ("image/jpeg", "image/png"):
            return Cover(item.get_content(), media_type)
    return None


def read_epub(path: Path) -> Book:
    ebooklib = require("ebooklib")
    epub = require("ebooklib.epub")
    check_not_protected(path)
    book = None
    for source in (lambda: str(path), lambda: _without_navigation(path)):
        try:
            book = epub.read_epub(source(), options={"ignore_ncx": False})
            break
        except Exception as exc:  # ebooklib raises anything from KeyError to lxml's errors on a broken book
            error = exc
    if book is None:
        raise BookInputError(f"{path}: malformed EPUB ({type(error).__name__}: {error})")
    titles: dict[str, str] = {}
    for document, title in _toc_entries(book.toc):
        titles.setdefault(document, title)
    parts: list[list] = []  # [title, heading, paragraphs]
    for idref, linear in book.spine:
        if str(linear).lower() == "no":  # outside the reading order: notes, pop-ups (the spec's "auxiliary")
            continue
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        try:
            document = document_text(item.get_content())
        except Exception as exc:  # noqa: BLE001 - a broken document fails the book, naming it
            raise BookInputError(f"{path}: cannot read {item.file_name} ({type(exc).__name__}: {exc})") from None
        name = posixpath.normpath(item.file_name)
        body = document.paragraphs if document.has_body else []
        if name in titles or not parts or not titles:
            title = titles.get(name) or document.heading or f"Chapter {len(parts) + 1}"
            parts.append([title, body])
        else:
            parts[-1][1] += body
    if not parts:
        raise BookInputError(f"{path}: the EPUB has no readable documents in its spine")
    chapters, skipped = numbered(path, [(title, None, "\n\n".join(paragraphs)) for title, paragraphs in parts])
    language = (_metadata(book, "language") or "").split("-")[0].lower() or None
    title = _metadata(book, "title") or path.stem
    return Book(path, title, _metadata(book, "creator"), language, chapters, _cover(book, ebooklib), skipped)
