"""What DKIM signing costs per digest, on this machine, in one process.

Renders digests shaped like bench/run.py's (1 to 4 topics of up to 10 articles, at
most 30, summaries of about 250 characters, an image on two articles in three) with
the real rendering and MIME code, and times per message: building it (render and
MIME, for scale), signing it as the pipeline does (digest/mail/dkim.py: RSA-2048
through OpenSSL, relaxed/relaxed), the two parts of that signature (canonical body
and its hash; the RSA operation), the VERP return path, and dkimpy's ``dkim.sign``
of the same messages with the same key and header list (pure-Python RSA), when
dkimpy is installed; a signed digest must verify with dkimpy first. Prints the
median of several rounds, in milliseconds per message.

    python bench/signing.py [--messages 300] [--rounds 5] [--bits 2048] [--json FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

from bench.seeding import TOPICS, ZONES  # noqa: E402
from digest.config import load_settings  # noqa: E402
from digest.domain.content import ArticleView, DigestContent, Recipient, Section  # noqa: E402
from digest.mail.dkim import HEADERS, relaxed_body, signer_for  # noqa: E402
from digest.mail.message import make_message_id  # noqa: E402
from digest.mail.verp import return_path  # noqa: E402
from digest.rendering import render_digest  # noqa: E402
from digest.services.sending.composing import message_of  # noqa: E402

SLOT = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
SECRET = "bench-secret-key-of-32-bytes-or-more-0123456789"
BOUNCES = "bounces@bounce.example.org"


def digests(count: int) -> list[tuple[DigestContent, Recipient]]:
    """``count`` digests over 12 topics and 300 articles, each reader's own."""
    articles = [
        ArticleView(
            id=i,
            title=f"Article {i}: a headline of a typical length for a news story",
            url=f"https://news.example.org/a/{i}",
            summary_html="<p>" + "A summary sentence of an ordinary length. " * 6 + "</p>",
            published_at=SLOT - timedelta(minutes=10 + 4 * i),
            image_url=f"https://news.example.org/img/{i}.jpg" if i % 3 else None,
            version=f"v{i}",
        )
        for i in range(300)
    ]
    out = []
    for n in range(count):
        topics = [TOPICS[(n + k * 5) % len(TOPICS)] for k in range(1 + n % 4)]
        per_topic = min(10, 30 // len(topics))
        sections = tuple(
            Section(
                slug,
                slug.title(),
                tuple(articles[(TOPICS.index(slug) * 25 + j) % 300] for j in range(per_topic)),
            )
            for slug in topics
        )
        reader = Recipient(
            email=f"reader{n}@example.net",
            name=f"Reader {n}",
            unsubscribe_url=f"https://news.example.org/digest/unsubscribe/tok{n:08d}.signature",
            preferences_url=f"https://news.example.org/digest/preferences/tok{n:08d}.signature",
            reason="You get this email because you follow "
            + " and ".join(t.title() for t in topics)
            + ".",
        )
        out.append((DigestContent(sections, SLOT, ZONES[n % len(ZONES)]), reader))
    return out


def per_message(run: Callable[[], object], count: int, rounds: int) -> float:
    """Median over ``rounds`` of the milliseconds per message of ``run``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000 / count)
    return round(statistics.median(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bits", type=int, default=2048, help="RSA key size")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="digest-dkim-"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    key_file = folder / "dkim.pem"
    key_file.write_bytes(pem)
    settings = load_settings(
        {
            "DIGEST_SECRET_KEY": SECRET,
            "DIGEST_DATA_DIR": str(folder),
            "DIGEST_BASE_URL": "https://news.example.org/digest",
            "DIGEST_FROM": "Example News <digest@news.example.org>",
            "DIGEST_DKIM_SELECTOR": "bench",
            "DIGEST_DKIM_DOMAIN": "news.example.org",
            "DIGEST_DKIM_KEY_FILE": str(key_file),
        }
    )
    start = time.perf_counter()
    signer = signer_for(settings)
    load_ms = (time.perf_counter() - start) * 1000
    assert signer is not None

    items = digests(args.messages)

    def build() -> list[bytes]:
        return [
            message_of(
                render_digest(c, r, brand=settings.brand),
                r,
                settings,
                content=c,
                message_id=make_message_id(settings.from_domain),
                date=SLOT,
            )
            for c, r in items
        ]

    build()  # fills the block cache, as a worker's first batch does
    messages = build()
    sizes = sorted(len(m) for m in messages)
    heads = [m[: m.index(b"\r\n\r\n") + 2] for m in messages]
    bodies = [m[m.index(b"\r\n\r\n") + 4 :] for m in messages]
    count = len(messages)
    figures: dict[str, object] = {
        "messages": count,
        "message_kb_median": round(sizes[count // 2] / 1024, 1),
        "message_kb_range": f"{sizes[0] / 1024:.1f}-{sizes[-1] / 1024:.1f}",
        "key_bits": args.bits,
        "key_load_ms": round(load_ms, 2),
        "build_ms": per_message(build, count, args.rounds),
        "sign_ms": per_message(lambda: [signer.sign(m) for m in messages], count, args.rounds),
        "body_canonical_and_hash_ms": per_message(
            lambda: [hashlib.sha256(relaxed_body(b)).digest() for b in bodies],
            count,
            args.rounds,
        ),
        "rsa_sign_ms": per_message(
            lambda: [key.sign(h, padding.PKCS1v15(), hashes.SHA256()) for h in heads],
            count,
            args.rounds,
        ),
        "verp_return_path_ms": per_message(
            lambda: [return_path(BOUNCES, i + 1, SECRET) for i in range(count)],
            count,
            args.rounds,
        ),
    }
    try:
        import dkim
    except ImportError:
        figures["dkimpy_sign_ms"] = None
    else:
        record = signer.dns_record().encode()
        if not dkim.verify(signer.sign(messages[0]), dnsfunc=lambda name, timeout=5: record):
            raise SystemExit("FAILED: a signed digest does not verify with dkimpy")
        # Fewer messages: each takes milliseconds.
        few = messages[: max(1, count // 10)]
        names = [h.encode() for h in HEADERS]
        figures["dkimpy_sign_ms"] = per_message(
            lambda: [
                dkim.sign(
                    m,
                    b"bench",
                    b"news.example.org",
                    pem,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=names,
                )
                for m in few
            ],
            len(few),
            args.rounds,
        )
    figures["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    key_file.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
