"""Bytes → text: encodings (BOM, UTF-8, GB18030, charset-normalizer), newlines, control characters."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from rag.errors import ParseError

_MIB = 1024 * 1024
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes(list(range(0, 9)) + list(range(14, 32)) + [127])
_BINARY_CONTROL_SHARE = 0.05


def decode_bytes(data: bytes, name: str) -> str:
    """Decode a text file's bytes; newlines become ``\\n``, form feeds (page breaks) ``\\n\\n``.

    Order: UTF-32/UTF-16/UTF-8 by BOM, then UTF-8, then GB18030 (a superset of GBK/GB2312) or
    Big5 (traditional characters, Taiwan/Hong Kong; see ``_legacy_chinese_decode``), then
    charset-normalizer as a last resort. Stray control characters are dropped.
    name: the file name used in error messages.
    raises ParseError: ``empty_file`` (no bytes), ``binary_file`` (NUL bytes or more than
        5 % control characters), ``decode_error`` (no encoding fits).
    """
    if not data:
        raise ParseError(f"文件 {name} 是空文件（0 字节），没有可导入的内容。", code="empty_file")
    text: str | None = None
    for bom, enc, label in (
        (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                raise ParseError(
                    f"文件 {name} 以 {label} 字节序标记（BOM）开头，但内容无法按 {label} 解码；请另存为 UTF-8 后再导入。",
                    code="decode_error",
                ) from None
            break
    if text is None:
        if b"\x00" in data or _control_share_bytes(data) > _BINARY_CONTROL_SHARE:
            raise _binary_error(name)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _legacy_chinese_decode(data)
    if text is None:
        text = _charset_normalizer_decode(data)
        if text is None:
            raise ParseError(
                f"无法识别文件 {name} 的文字编码（已尝试 UTF-8、GB18030 等）；请另存为 UTF-8 后再导入。",
                code="decode_error",
            )
    if "\x00" in text or (text and len(_CONTROL_RE.findall(text)) / len(text) > _BINARY_CONTROL_SHARE):
        raise _binary_error(name)
    return normalise_newlines(text)


def decode_name(raw: bytes | str) -> str:
    """A file name as bytes (a multipart ``filename``, a file system name that is not UTF-8),
    decoded with the same care as file contents: UTF-8, then GB18030 or Big5 (older Windows
    tools send GBK), then Latin-1 (never fails). A ``str`` holding surrogate escapes (how Python
    shows undecodable file-system bytes) is re-decoded from its bytes; any other ``str`` is
    returned as it is. The same bytes always give the same name."""
    if isinstance(raw, str):
        if not any("\udc80" <= ch <= "\udcff" for ch in raw):
            return raw
        raw = raw.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _legacy_chinese_decode(raw) or raw.decode("latin-1")


def read_text(path: Path, source: str) -> str:
    """The decoded text of a text file (``decode_bytes``). raises ParseError (unreadable, empty, binary, undecodable)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ParseError(f"无法读取文件 {source}：{e.strerror or e}", code="corrupt_document") from None
    text = decode_bytes(data, source)
    if not text.strip():
        raise ParseError(f"文件 {source} 只有空白，没有可导入的内容。", code="empty_file")
    return text


def normalise_newlines(text: str) -> str:
    """``\\r\\n``/``\\r``/U+2028 → ``\\n``; U+2029 and form feeds (page breaks) → ``\\n\\n``; control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.replace("\f", "\n\n").replace("\v", "\n")
    return _CONTROL_RE.sub("", text)


#: a GB18030 reading whose Han characters fall outside GB 2312 (even after traditional →
#: simplified) more often than this is tried as Big5 as well
_SUSPECT_SHARE = 0.2


def _legacy_chinese_decode(data: bytes) -> str | None:
    """Bytes that are not UTF-8, read as GB18030 or Big5 (cp950), whichever reads as Chinese.

    Every Big5 byte sequence is also valid GBK, so GB18030 always "succeeds" on Big5 bytes,
    giving rare characters half of the time. A real Chinese text, once its traditional
    characters are simplified, is almost all GB 2312 characters; the reading with the larger
    such share wins (GB18030 on a tie). None when neither decodes.
    """
    readings = []
    for enc in ("gb18030", "cp950"):
        try:
            readings.append(data.decode(enc))
        except UnicodeDecodeError:
            continue
        if enc == "gb18030" and _common_han_share(readings[0]) >= 1 - _SUSPECT_SHARE:
            break
    if not readings:
        return None
    return max(readings, key=_common_han_share)  # max keeps the first (GB18030) on a tie


def _common_han_share(text: str) -> float:
    """Share of the Han characters of ``text`` (a sample) that are GB 2312 characters once
    traditional forms are simplified; 1.0 for a text without Han characters."""
    from rag.normalize import to_simplified

    han = re.findall(r"[\u3400-\u9fff\uf900-\ufaff]", to_simplified(text[:20000]))
    if not han:
        return 1.0
    common = 0
    for ch in han:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(han)


def _control_share_bytes(data: bytes) -> float:
    sample = data[: 64 * 1024]
    return (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample)


def _charset_normalizer_decode(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:
        return None
    return str(best) if best is not None else None


def _binary_error(name: str) -> ParseError:
    return ParseError(
        f"文件 {name} 看起来是二进制文件而不是文本（含有 NUL 或大量控制字符）；请确认文件类型或扩展名是否正确。",
        code="binary_file",
    )


def fmt_size(n: int) -> str:
    """A byte count for messages: "1.5 MB", "12.0 KB", "80 字节"."""
    if n >= _MIB:
        return f"{n / _MIB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} 字节"
