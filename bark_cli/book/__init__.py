"""`bark book`'s leaves: a book file in, chapters of text out; chapter audio in, an M4B or files out.

    book file -> epub.py | markdown.py | plaintext.py  -> Book (metadata, cover, chapters of text)
              -> lexicon.py                            the user's pronunciations, before segmentation
    (api/book.py renders each chapter with the batch machinery into a work directory)
              -> assemble.py                           chapter by chapter, unless its record says all is done:
              -> loudness.py                           gain per chapter (LUFS + true peak, or ACX)
              -> m4b.py | export.py                    one M4B with chapter marks, or a file per chapter

The readers need the `book` extra (ebooklib, mutagen, pyloudnorm; extras.py says so when it is missing).
"""
