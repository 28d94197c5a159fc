"""Bounces, complaints and automatic replies: parsed and classified, pure Python.

``parse_message(raw)`` tells, for each recipient a message reports on, whether the
address bounced for good (hard), failed this time (soft), complained, replied
automatically, or none of these; ``iter_messages(path)`` reads .eml files, mbox files
and maildirs. See docs/bounces.md for the rules and their accuracy on a real corpus.
"""

from digest.bounces.bounce import Bounce, How, Kind
from digest.bounces.parse import parse_message
from digest.bounces.sources import iter_messages

__all__ = ["Bounce", "How", "Kind", "iter_messages", "parse_message"]
