"""Books the tests build themselves: an EPUB made with ebooklib (cover, footnote, nested TOC), and the
broken ones bark must refuse."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

CHAPTERS = [  # (title, paragraphs): short, so the tiny model renders each in well under a second
    ("The Harbour", ["The boat came in at dawn and Nguyen waved."]),
    ("The Storm", ["Rain fell on the old town."]),
    ("The Return", ["They went home at last."]),
]
FOOTNOTE = "This footnote is never spoken."


def cover_png() -> bytes:
    """A real 8x8 PNG (PyAV's bundled encoder keeps the test free of image libraries)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="image2pipe") as container:
        stream = container.add_stream("png", rate=1)
        stream.width = stream.height = 8
        stream.pix_fmt = "rgb24"
        frame = av.VideoFrame.from_ndarray(np.full((8, 8, 3), 200, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _page(title: str, paragraphs: list[str], footnote: bool = False) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    if footnote:
        body = body.replace(
            "</p>", '<sup><a epub:type="noteref" href="#fn1">1</a></sup></p>', 1
        ) + f'<aside epub:type="footnote" id="fn1"><p>{FOOTNOTE}</p></aside><script>var spoken = false;</script>'
    return f"<h1>{title}</h1>{body}"


def build_epub(path: Path, chapters=CHAPTERS, *, cover: bool = True, toc: bool = True, nested: bool = True) -> Path:
    """An EPUB 3 of ``chapters``; with ``nested``, the first two sit in a "Part One" section of the TOC."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("bark-test-book")
    book.set_title("A Tiny Voyage")
    book.set_language("en")
    book.add_author("Ada Writer")
    if cover:
        book.set_cover("cover.png", cover_png(), create_page=False)
    items = []
    for n, (title, paragraphs) in enumerate(chapters, 1):
        item = epub.EpubHtml(title=title, file_name=f"chap{n}.xhtml", lang="en")
        item.content = _page(title, paragraphs, footnote=n == 1)
        book.add_item(item)
        items.append(item)
    if toc:
        links = [epub.Link(i.file_name, t, f"c{n}") for n, (i, (t, _)) in enumerate(zip(items, chapters), 1)]
        book.toc = [(epub.Section("Part One"), links[:2]), *links[2:]] if nested else links
        book.add_item(epub.EpubNcx())
        book.add_item(epub.EpubNav())
    book.spine = items
    epub.write_epub(str(path), book)
    return path


def drm_epub(path: Path) -> Path:
    """A well-formed EPUB whose content is encrypted (as Adobe ADEPT's encryption.xml declares it)."""
    build_epub(path)
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="EPUB/chap1.xhtml"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("META-INF/encryption.xml", encryption)
    return path
