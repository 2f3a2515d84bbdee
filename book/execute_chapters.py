"""Re-execute book chapters in place and store their outputs.

Usage (from anywhere)::

    python book/execute_chapters.py                      # every chapter in _toc.yml
    python book/execute_chapters.py book/huggett.ipynb   # only these

This is the only way stored outputs are produced: in the pinned CPU environment of
requirements.txt, with the same kernel environment that nbval uses (see book/conftest.py),
so that `pytest` re-executes each chapter and finds the same outputs.

Cells tagged ``nbval-skip`` (Colab setup, live widgets, paper-scale runs) are not executed
and are stored without outputs. A chapter whose cell raises is left unchanged on disk and the
script exits non-zero, naming it. Each chapter's wall time is appended to
``benchmarks/chapter_runtimes.md`` (with the machine's load), the source of the book's
runtimes table.
"""

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SKIP_TAG = "nbval-skip"
CELL_TIMEOUT = 1800  # seconds; generous because a slow machine should not lose a long run
RUNTIMES = ROOT / "benchmarks" / "chapter_runtimes.md"

# The environment of every chapter kernel, here and under nbval: figures are stored as PNG
# by the inline backend, and hashing (set and dict order of strings) is reproducible.
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONHASHSEED": "0",
}


def toc_documents(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Document names listed in the table of contents, in reading order.

    Names are relative to the repository root and have no extension: ``"book/intro"``.
    """
    site_map = parse_toc_yaml(toc)

    def walk(docname):
        yield docname
        for child in site_map[docname].child_files():
            yield from walk(child)

    return list(walk(site_map.root.docname))


def toc_chapters() -> list[Path]:
    """The notebooks among the documents in the table of contents."""
    paths = (ROOT / f"{docname}.ipynb" for docname in toc_documents())
    return [path for path in paths if path.exists()]


def execute(path: Path) -> nbformat.NotebookNode:
    """Execute the notebook at `path` (cwd = book/) and return it with fresh outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        skip_cells_with_tag=SKIP_TAG,
        record_timing=False,  # no timestamps in metadata: re-running changes only outputs
        resources={"metadata": {"path": str(BOOK)}},
    )
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps left by Jupyter front ends
        if cell.cell_type == "code" and SKIP_TAG in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
    return nb


def record_runtime(path: Path, seconds: float, load_before: float):
    """Append one row (UTC time, chapter, wall seconds, load, machine) to RUNTIMES."""
    import jax  # the kernel's jax is this environment's: name its backend

    row = (
        f"| {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} | `{path.name}` | {seconds:.0f} "
        f"| {load_before:.1f} / {os.getloadavg()[0]:.1f} | {os.cpu_count()} cores, {platform.machine()}, "
        f"jax {jax.__version__} on {jax.default_backend()} |\n"
    )
    with RUNTIMES.open("a") as file:
        file.write(row)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "chapters", nargs="*", type=Path,
        help="notebooks to execute (default: every chapter in _toc.yml)",
    )
    chapters = parser.parse_args(argv).chapters or toc_chapters()
    os.environ.update(KERNEL_ENV)  # inherited by the kernels started below
    failed = []
    for path in chapters:
        start, load_before = time.perf_counter(), os.getloadavg()[0]
        print(f"executing {path} ...", flush=True)
        try:
            nb = execute(path)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            print(f"FAILED {path}:\n{error}", file=sys.stderr, flush=True)
            failed.append(path)
            continue
        nbformat.write(nb, path)
        seconds = time.perf_counter() - start
        record_runtime(path.resolve(), seconds, load_before)
        print(f"  done in {seconds:.0f} s", flush=True)
    if failed:
        print("failed chapters: " + ", ".join(map(str, failed)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
