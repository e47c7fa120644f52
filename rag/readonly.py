"""Reading an embedded Chroma data dir that cannot be written: a read-only mount, a directory
the process may not write, or a full disk.

Chroma has no read-only mode: its Rust bindings write to ``chroma.sqlite3`` when they open it
(and SQLite needs to create a journal next to it), so a read-only or full data dir could not
even be opened to answer questions. Here the store is opened from a private snapshot instead:
``chroma.sqlite3`` (with its rollback journal, if a write was cut off: SQLite then rolls the
copy back to its last committed state, as after a crash) is copied to a temp dir, and the
vector segments are linked from there when the data dir's filesystem is read-only (nothing can
be written through the link) or copied otherwise (a full disk: a write through a link would
change the real store). The process then answers from the snapshot and refuses every write
(``Store.read_only``). Snapshots live in the system temp dir, else ``/dev/shm``; each is
removed when its process ends, and those of processes that died are removed by the next start
(``clean_stale_snapshots``).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

from .errors import StoreError

log = logging.getLogger("rag.readonly")

PREFIX = "rag-readonly-"
SLACK_BYTES = 16 << 20  # free space kept on the snapshot's filesystem beyond the copy itself
_DB = "chroma.sqlite3"


def _places() -> list[Path]:
    return [Path(tempfile.gettempdir()), Path("/dev/shm")]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _writable_fs(path: Path) -> bool:
    try:
        return not os.statvfs(path).f_flag & os.ST_RDONLY and os.access(path, os.W_OK)
    except OSError:
        return False


def snapshot(chroma_dir: Path, reason: StoreError) -> Path:
    """A private copy of the Chroma directory ``chroma_dir`` that Chroma can open (see the
    module docstring); removed when the process ends.

    reason: why the data dir cannot be written (``store_readonly`` / ``store_full``): raised
        again, with the space that was missing, when no temp dir can hold the copy.
    returns: the snapshot directory (pass it to ``chromadb.PersistentClient``).
    raises StoreError: no snapshot could be made (``reason``'s code).
    """
    chroma_dir = Path(chroma_dir)
    clean_stale_snapshots()
    files = [chroma_dir / _DB, chroma_dir / f"{_DB}-journal"]
    segments = [p for p in chroma_dir.iterdir() if p.is_dir()] if chroma_dir.is_dir() else []
    link = not _writable_fs(chroma_dir)
    need = sum(_size(f) for f in files if f.exists()) + (0 if link else sum(_size(s) for s in segments))
    tried = []
    for place in _places():
        try:
            st = os.statvfs(place)
            if st.f_bavail * st.f_frsize < need + SLACK_BYTES:
                tried.append(f"{place} 剩余空间不足")
                continue
            out = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=place))
        except OSError as exc:
            tried.append(f"{place}：{exc.strerror or exc}")
            continue
        try:
            for f in files:
                if f.exists():
                    shutil.copyfile(f, out / f.name)
            for seg in segments:
                if link:
                    (out / seg.name).symlink_to(seg.resolve(), target_is_directory=True)
                else:
                    shutil.copytree(seg, out / seg.name)
        except OSError as exc:
            shutil.rmtree(out, ignore_errors=True)
            tried.append(f"{place}：{exc.strerror or exc}")
            continue
        atexit.register(shutil.rmtree, out, True)
        log.warning(
            "data dir %s cannot be written (%s): answering from a read-only snapshot in %s (%.1f MB copied)",
            chroma_dir,
            reason.code,
            out,
            need / 1e6,
        )
        return out
    raise StoreError(
        f"{reason.message}也无法只读打开：没有足够的临时空间存放向量库的只读副本（需要约 {need / 1e6:.0f} MB；"
        f"{'；'.join(tried)}）。",
        code=reason.code,
        status=reason.status,
    )


def clean_stale_snapshots() -> int:
    """Remove snapshots left by processes that no longer run (a ``kill -9``); returns how many."""
    removed = 0
    for place in _places():
        try:
            entries = list(place.glob(f"{PREFIX}*"))
        except OSError:
            continue
        for d in entries:
            pid = d.name[len(PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
