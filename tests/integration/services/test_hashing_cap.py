"""A burst of sign-ins does not run every password hash at once: each argon2 hash
holds 64 MiB while it runs, so a process's memory is bounded by how many run together."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, process_env

HASH_MIB = 64

# Sixteen sign-ins, each for its own address from its own client so that no limit
# holds any of them back, started together in one process; prints the resident size
# before them and the peak during them, in KiB.
BURST = """
import sys, threading
from datetime import UTC, datetime

from digest.db.engine import unit_of_work
from digest.services.console.admins import sign_in

url, n = sys.argv[1], int(sys.argv[2])

def status(field):
    # The kernel's own counts for this process (ru_maxrss would carry the parent's
    # peak over from before the exec).
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

def attempt(i):
    with unit_of_work(url) as session:
        address, client = f"nobody{i}@example.org", f"192.0.2.{i}"
        sign_in(session, address, "a wrong guess", client, datetime.now(UTC))

attempt(99)  # imports, the engine and the first hash out of the way
before = status("VmRSS")
barrier = threading.Barrier(n)

def run(i):
    barrier.wait(timeout=30)
    attempt(i)

threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(before, status("VmHWM"))
"""


def test_sixteen_sign_ins_at_once_hold_a_few_hashes_of_memory(db_url) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-c", BURST, db_url, "16"],
        env=process_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    before, peak = (int(v) for v in done.stdout.split())
    grown_mib = (peak - before) / 1024
    # Sixteen hashes at once would take a gigabyte; a few at a time stay well under.
    assert grown_mib < 4 * HASH_MIB, f"grew by {grown_mib:.0f} MiB during 16 sign-ins"
