"""What rendering one digest for one reader costs, on this machine, in one process.

Renders a digest of 12 articles in two topics (one long enough to open with its
headlines) for many readers, the shared blocks cached after the first as in a slot,
and prints the median over several rounds in microseconds per digest: the per-reader
work (slots filled in, the text part, the subject) that every digest of a slot pays.

    python bench/render.py [--readers 2000] [--rounds 7] [--language en]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from digest.config import Branding
from digest.domain.content import ArticleView, DigestContent, Recipient, Section
from digest.rendering import render_digest

SLOT = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)


def article(i: int) -> ArticleView:
    return ArticleView(
        id=i,
        title=f"Story number {i}: what changed this week and why it matters",
        url=f"https://news.example.org/story-{i}",
        summary_html=f"<p>{'A sentence of the summary of this story. ' * 6}</p>",
        published_at=datetime(2026, 3, 16, 14, 30, tzinfo=UTC),
        author="Staff reporter",
        image_url=f"https://news.example.org/img/{i}.jpg" if i % 3 else None,
        version="v1",
    )


def reader(i: int) -> Recipient:
    return Recipient(
        email=f"reader{i}@example.org",
        name=f"Reader {i}",
        unsubscribe_url=f"https://news.example.org/unsubscribe/tok{i}",
        preferences_url=f"https://news.example.org/preferences/tok{i}",
        reason="You get this email because you follow Technology and Trade.",
        view_url=f"https://news.example.org/view/tok{i}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--language", default="en", help="the readers' language (en, es, fr, de, ar)"
    )
    args = parser.parse_args()
    brand = Branding(site_name="Example News", postal_address="1 Example Street, Brussels")
    sections = (
        Section("technology", "Technology", tuple(article(i) for i in range(7))),
        Section("trade", "Trade", tuple(article(i) for i in range(7, 12))),
    )
    content = DigestContent(sections, SLOT, "Europe/Brussels", language=args.language)
    render_digest(content, reader(0), brand=brand)  # the shared blocks, once
    rounds = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for i in range(args.readers):
            render_digest(content, reader(i), brand=brand)
        rounds.append((time.perf_counter() - started) / args.readers * 1e6)
    print(
        f"render one digest (12 articles, blocks cached, {args.language}): "
        f"median {statistics.median(rounds):.1f}"
        f" µs per reader, best {min(rounds):.1f} µs ({args.rounds} rounds of {args.readers})"
    )


if __name__ == "__main__":
    main()
