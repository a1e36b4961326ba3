"""The text a secret scan reads: a file's bytes decoded by byte-order mark or by where its
NUL bytes are, and invisible characters and compatibility forms folded away."""

from __future__ import annotations

import codecs
import unicodedata

#: Invisible characters that split a keyword without changing how it reads: zero-width
#: space/joiners, word joiner, soft hyphen, byte-order mark, bidirectional marks.
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,
        0x180E,
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x2060,
        0x2061,
        0x2062,
        0x2063,
        0x2064,
        0xFEFF,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)


def _canonical(text: str) -> str:
    """``text`` as it reads: invisible characters dropped and compatibility forms folded
    (fullwidth ``ｐａｓｓｗｏｒｄ`` is ``password``), so neither hides a keyword. Line breaks are
    kept where they are, so line numbers still point at the file's lines."""
    if text.isascii():
        return text
    text = text.translate(_INVISIBLE)
    return unicodedata.normalize("NFKC", text) if not text.isascii() else text


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_for_scan(data: bytes) -> tuple[str, bool]:
    """The text to scan in a file's bytes, and whether the file is text at all.

    A byte-order mark says the encoding (PowerShell's ``>`` writes UTF-16 with one); UTF-16
    or UTF-32 without one shows as NUL bytes in every second or every fourth place; anything
    else with NUL bytes (a binary file, a text that starts with a NUL) is scanned with the NUL
    bytes removed, so text inside it is still seen. A secret must not get past the scan by
    being saved in another encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), True
    if b"\x00" not in data:
        return data.decode("utf-8", errors="replace"), True
    sample = data[:65536]
    quarter = max(1, len(sample) // 4)
    nuls = [sample[offset::4].count(0) for offset in range(4)]
    if nuls[1] + nuls[2] + nuls[3] > 2.7 * quarter and nuls[0] < 0.1 * quarter:
        return data.decode("utf-32-le", errors="replace"), True
    if nuls[0] + nuls[1] + nuls[2] > 2.7 * quarter and nuls[3] < 0.1 * quarter:
        return data.decode("utf-32-be", errors="replace"), True
    if nuls[1] + nuls[3] > 1.6 * quarter and nuls[0] + nuls[2] < 0.1 * quarter:
        return data.decode("utf-16-le", errors="replace"), True
    if nuls[0] + nuls[2] > 1.6 * quarter and nuls[1] + nuls[3] < 0.1 * quarter:
        return data.decode("utf-16-be", errors="replace"), True
    return data.replace(b"\x00", b"").decode("utf-8", errors="replace"), False
