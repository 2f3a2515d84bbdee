"""Chapter run times from a test run: sums nbval's per-cell durations by chapter.

Usage, from the repository root::

    pytest --durations=0 | tee pytest.log
    python benchmarks/nbval_runtimes.py pytest.log   # appends rows to benchmarks/chapter_runtimes.md

pytest's `--durations=0` lists every test phase with its duration, one line each
("12.34s call     book/huggett.ipynb::Cell 5"); a chapter's time is the sum of its cells'
phases (setup includes starting its kernel). Cells nbval skips are not run and add nothing.
"""

import collections
import datetime
import os
import re
import sys
from pathlib import Path

RUNTIMES = Path(__file__).resolve().parent / "chapter_runtimes.md"
PHASE = re.compile(r"^\s*([\d.]+)s\s+(?:setup|call|teardown)\s+book/([\w-]+\.ipynb)::")


def chapter_seconds(log: str) -> dict:
    """{chapter file name: summed seconds} over the `--durations=0` lines of a pytest log."""
    seconds = collections.defaultdict(float)
    for line in log.splitlines():
        match = PHASE.match(line)
        if match:
            seconds[match.group(2)] += float(match.group(1))
    return dict(seconds)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    seconds = chapter_seconds(Path(argv[0]).read_text())
    if not seconds:
        print(f"no nbval durations in {argv[0]}: run pytest with --durations=0", file=sys.stderr)
        return 1
    stamp = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}"
    with RUNTIMES.open("a") as file:
        for chapter, total in sorted(seconds.items()):
            file.write(f"| {stamp} | `{chapter}` | {total:.0f} | nbval in `pytest -n 2`, load {os.getloadavg()[0]:.1f} after | "
                       f"{os.cpu_count()} cores |\n")
    print(f"{len(seconds)} chapters appended to {RUNTIMES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
