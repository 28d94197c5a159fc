"""Where messages come from: one .eml file, an mbox file, a maildir, or a directory
tree of .eml files."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

_MAILDIR_PARTS = ("cur", "new", "tmp")


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, raw bytes) for each message under ``path``, in a stable order.

    A directory holding cur/, new/ and tmp/ is a maildir; any other directory is
    searched for .eml files (names are relative to it). A file whose first line is
    an mbox "From " line is an mbox (unless it is named .eml: single messages saved
    from a mailbox often keep that line); any other file is one message.
    """
    path = Path(path)
    if path.is_dir():
        if all((path / part).is_dir() for part in _MAILDIR_PARTS):
            yield from _maildir(path)
        else:
            for file in sorted(p for p in path.rglob("*.eml") if p.is_file()):
                yield file.relative_to(path).as_posix(), file.read_bytes()
        return
    if not path.is_file():
        raise FileNotFoundError(f"no message file, mbox or maildir at {path}")
    with path.open("rb") as handle:
        first = handle.read(5)
    if first == b"From " and path.suffix.lower() != ".eml":
        yield from _mbox(path)
    else:
        yield path.name, path.read_bytes()


def _maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        yield key, box.get_bytes(key)


def _mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            yield f"{path.name}#{number}", box.get_bytes(key)
    finally:
        box.close()
