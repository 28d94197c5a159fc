"""Reading messages from an .eml file, an mbox, a maildir and a directory tree."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from digest.bounces import iter_messages

ONE = b"From: a@example.org\nSubject: one\n\nfirst\n"
TWO = b"From: b@example.org\nSubject: two\n\nsecond\n"


def test_a_single_eml_file(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(b"From MAILER-DAEMON Thu Apr 29 23:34:45 2015\n" + ONE)
    assert [name for name, _ in iter_messages(path)] == ["one.eml"]  # .eml: one message


def test_an_mbox(tmp_path: Path) -> None:
    path = tmp_path / "box"
    box = mailbox.mbox(path)
    box.add(ONE)
    box.add(TWO)
    box.close()
    found = list(iter_messages(path))
    assert [name for name, _ in found] == ["box#1", "box#2"]
    assert b"Subject: two" in found[1][1]


def test_a_maildir(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    keys = sorted([box.add(ONE), box.add(TWO)])
    found = list(iter_messages(tmp_path / "Maildir"))
    assert [name for name, _ in found] == keys
    assert {data.split(b"\n\n")[1] for _, data in found} == {b"first\n", b"second\n"}


def test_a_directory_tree_of_eml_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.eml").write_bytes(TWO)
    (tmp_path / "1.eml").write_bytes(ONE)
    (tmp_path / "notes.txt").write_text("not mail")
    assert [name for name, _ in iter_messages(tmp_path)] == ["1.eml", "b/2.eml"]


def test_a_missing_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no message file"):
        list(iter_messages(tmp_path / "nowhere"))
