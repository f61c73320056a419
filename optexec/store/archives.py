"""Zip archives read within stated limits: every member checked before it is extracted, and capped while read.

A LEAN or LOBSTER zip is opened here, never with a bare ``zipfile`` call, so that

* a file that is not a zip, a truncated or corrupt one (``BadZipFile``, ``zlib.error``, a bad CRC), an encrypted
  member or an unsupported compression method (e.g. 99, WinZip AES) is a ``LoadError`` (a ValueError) with one
  plain line naming the archive and the member, never a traceback;
* a member larger than ``MAX_MEMBER_BYTES`` uncompressed (256 MiB), or expanding more than ``MAX_RATIO`` times
  (100x; real market-data zips expand 3-20x) once it is above ``RATIO_FLOOR_BYTES``, is refused before anything is
  extracted, with its size and the limit; and the copy is capped while it is read, since a header can lie.

A load holds several times a file's size in memory (the staged rows and their checks: an 86 MB LEAN tick file
peaked at 1.1 GB), so these limits bound what an archive can make a load take, to about 3 GB. A genuine file above
them can be unzipped and its CSV loaded on its own (``python -m optexec load NAME.csv``; a LEAN csv is recognised by
its name), or the limits moved with ``OPTEXEC_MAX_MEMBER_MB`` and ``OPTEXEC_MAX_ZIP_RATIO``.
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from optexec.store.reports import LoadError

MAX_MEMBER_BYTES = 256 * 2**20
MAX_RATIO = 100.0
RATIO_FLOOR_BYTES = 16 * 2**20
MEMBER_ENV_VAR = "OPTEXEC_MAX_MEMBER_MB"
RATIO_ENV_VAR = "OPTEXEC_MAX_ZIP_RATIO"
CHUNK_BYTES = 1 << 20
#: compression methods Python's zipfile can read, by number
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2"}
METHODS[zipfile.ZIP_LZMA] = "lzma"
#: what a damaged member raises while it is read (zlib, bz2 and lzma streams, truncation, a bad CRC)
READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, NotImplementedError, RuntimeError)


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, or ``default`` when it is unset."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise LoadError(f"{name}={text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise LoadError(f"{name}={text!r} must be a positive number")
    return value


def member_limit_bytes() -> int:
    """The largest uncompressed member (bytes): ``OPTEXEC_MAX_MEMBER_MB`` (MiB) or ``MAX_MEMBER_BYTES``."""
    return int(_env_number(MEMBER_ENV_VAR, MAX_MEMBER_BYTES / 2**20) * 2**20)


def ratio_limit() -> float:
    """The largest expansion (uncompressed / compressed size) of a member above ``RATIO_FLOOR_BYTES``."""
    return _env_number(RATIO_ENV_VAR, MAX_RATIO)


def megabytes(n_bytes: float) -> str:
    """A size in MiB (KiB below one MiB) for a message: ``'256.0 MB'``, ``'781 KB'``."""
    if n_bytes < 2**20:
        return f"{n_bytes / 2**10:,.0f} KB"
    return f"{n_bytes / 2**20:,.1f} MB"


def _anyway(member: str, how: str = "unzip it") -> str:
    csv = Path(member).name
    return (
        f"if it is genuine, {how} and load {csv} on its own, or raise the limit with "
        f"{MEMBER_ENV_VAR} / {RATIO_ENV_VAR} (a load needs several times a file's size in memory)"
    )


@contextlib.contextmanager
def open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    """Open ``path`` as a zip archive; one plain ``LoadError`` when it is not a readable one."""
    try:
        zf = zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        raise LoadError(f"{path.name} is not a readable zip file ({_reason(exc)})") from None
    with zf:
        yield zf


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.rstrip(".")


def check_member(archive: str, info: zipfile.ZipInfo) -> None:
    """Refuse a member before extraction: encrypted, an unknown compression method, too large or too compressed."""
    name = info.filename
    if info.flag_bits & 0x1 or info.compress_type == 99:
        raise LoadError(
            f"{archive}: {name} is encrypted (password-protected); unzip it with its password and load the CSV"
        )
    if info.compress_type not in METHODS:
        known = ", ".join(METHODS.values())
        raise LoadError(
            f"{archive}: {name} uses compression method {info.compress_type}, which cannot be read (readable: "
            f"{known}); re-zip it with deflate or unzip it and load the CSV"
        )
    limit = member_limit_bytes()
    if info.file_size > limit:
        raise LoadError(
            f"{archive}: {name} is {megabytes(info.file_size)} uncompressed, above the {megabytes(limit)} limit "
            f"for a member of an archive; {_anyway(name)}"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    max_ratio = ratio_limit()
    if info.file_size > RATIO_FLOOR_BYTES and ratio > max_ratio:
        raise LoadError(
            f"{archive}: {name} expands {ratio:,.0f} times ({megabytes(info.compress_size)} to "
            f"{megabytes(info.file_size)}), above the {max_ratio:,.0f}x limit (market-data zips expand 3-20x; this "
            f"looks like a zip bomb or rows repeated over and over); {_anyway(name)}"
        )


def copy_capped(src: IO[bytes], dst: IO[bytes], limit_bytes: int, what: str) -> int:
    """Copy ``src`` to ``dst`` in chunks, refusing once more than ``limit_bytes`` came out; the bytes copied."""
    copied = 0
    while chunk := src.read(CHUNK_BYTES):
        copied += len(chunk)
        if copied > limit_bytes:
            raise LoadError(f"{what} holds more than {megabytes(limit_bytes)}, more than its header says")
        try:
            dst.write(chunk)
        except OSError as exc:
            raise LoadError(f"cannot write {what} to a temporary file ({_reason(exc)})") from None
    return copied


def extract(zf: zipfile.ZipFile, archive: str, member: str, directory: str | Path) -> Path:
    """Check ``member`` of the archive ``archive`` (its name, for messages) and extract it into ``directory``.

    The copy stops at the member's declared size or the member limit, whichever is smaller: a header that
    understates the size cannot make it write more.
    """
    info = zf.getinfo(member)
    check_member(archive, info)
    target = Path(directory) / Path(member).name
    cap = min(info.file_size, member_limit_bytes())
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            copy_capped(src, dst, cap, f"{archive}: {info.filename}")
    except LoadError:
        target.unlink(missing_ok=True)
        raise
    except READ_ERRORS as exc:
        target.unlink(missing_ok=True)
        raise LoadError(f"{archive}: {info.filename} cannot be read, the archive is damaged ({_reason(exc)})") from None
    return target


def check_gzip(path: Path) -> int:
    """Refuse a gzip file (a ``.csv.gz``) that expands past the member limits; its uncompressed size in bytes.

    The file is decompressed in chunks and counted (its trailer's size can lie, and holds only the last member's
    size modulo 4 GiB), stopping as soon as a limit is passed, so a bomb costs at most ``RATIO_FLOOR_BYTES``.
    """
    limit, max_ratio = member_limit_bytes(), ratio_limit()
    compressed = max(path.stat().st_size, 1)
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                total += len(chunk)
                if total > limit:
                    raise LoadError(
                        f"{path.name} expands to more than the {megabytes(limit)} limit for a compressed file; "
                        f"{_anyway(path.stem, 'gunzip it')}"
                    )
                if total > RATIO_FLOOR_BYTES and total / compressed > max_ratio:
                    raise LoadError(
                        f"{path.name} expands more than {max_ratio:,.0f} times ({megabytes(compressed)} to over "
                        f"{megabytes(total)}; market-data files compress 3-20x, this looks like a zip bomb or rows "
                        f"repeated over and over); {_anyway(path.stem, 'gunzip it')}"
                    )
    except READ_ERRORS as exc:
        raise LoadError(f"{path.name} is not a readable gzip file ({_reason(exc)})") from None
    return total
