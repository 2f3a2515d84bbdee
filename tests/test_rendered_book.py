"""The built book as a reader's browser shows it.

Every page in _toc.yml is loaded in headless Chromium, its scripts (MathJax) are run, and the
resulting DOM is checked: a title, typeset maths, figures that exist, a Colab launch link on
notebook chapters, no build-error markers. The check functions are pure functions of the
DOM; the last tests prove they reject a broken page.

The book is built into a temporary folder with warnings as errors, unless the environment
variable SRLTEACH_BOOK_HTML names a finished build to check instead (.ci/run sets it to the
build it has just made, so the pages checked are exactly the ones built).
"""

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_notebook, new_output

from execute_chapters import toc_documents

ROOT = Path(__file__).resolve().parents[1]
COLAB = "https://colab.research.google.com/github/srlteach/srlteach/blob/main/"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    # Lets the page's scripts run to completion (MathJax typesets asynchronously).
    "--virtual-time-budget=15000",
]
HIDDEN_OUTPUT_TAGS = {"remove-cell", "remove-output"}  # Jupyter Book drops these outputs
NOT_PROSE = {"script", "style", "pre", "code", "mjx-container"}


# ---- the checks: pure functions of the rendered DOM ------------------------------------

def image_outputs(nb) -> int:
    """Image outputs of a notebook that the book shows."""
    return sum(
        any(mime.startswith("image/") for mime in out.get("data", {}))
        for cell in nb["cells"] if cell["cell_type"] == "code"
        if not HIDDEN_OUTPUT_TAGS & set(cell["metadata"].get("tags", []))
        for out in cell["outputs"]
    )


def prose(soup) -> str:
    """The page's text outside code, scripts and typeset maths."""
    return " ".join(
        text for text in soup.find_all(string=True)
        if not any(parent.name in NOT_PROSE for parent in text.parents)
    )


def title_problems(soup) -> list[str]:
    titles = [h1.get_text(strip=True) for h1 in soup.select("article h1")]
    return [] if any(titles) else ["no <h1> title in the article"]


def error_marker_problems(soup) -> list[str]:
    """Sphinx renders some errors into the page instead of failing: system messages,
    problematic references, error admonitions and notebook tracebacks."""
    markers = soup.select(".system-message, .problematic, .admonition.error, .traceback")
    return [f"{len(markers)} build-error marker(s) in the page"] if markers else []


def math_problems(soup) -> list[str]:
    problems = []
    maths = soup.select(".math")
    untypeset = [math for math in maths if math.find("mjx-container") is None]
    if untypeset:
        problems.append(f"{len(untypeset)} of {len(maths)} maths not typeset by MathJax")
    if "$$" in prose(soup):
        problems.append("raw $$ in the page text (maths not parsed)")
    return problems


def image_problems(soup, page: Path, expected: int) -> list[str]:
    """Every local <img> exists on disk; at least `expected` figures were rendered."""
    problems = []
    srcs = [urlparse(img.get("src", "")) for img in soup.find_all("img")]
    local = [src for src in srcs if src.scheme in ("", "file")]  # not data: or http(s):
    for src in local:
        path = Path(unquote(src.path))
        if not src.path or not (path if src.scheme == "file" else page.parent / path).is_file():
            problems.append(f"missing image file {src.geturl()!r}")
    figures = sum("_images/" in src.path for src in local)
    if figures < expected:
        problems.append(f"{figures} figures in the page, {expected} image outputs in the notebook")
    return problems


def colab_problems(soup, docname: str) -> list[str]:
    url = f"{COLAB}{docname}.ipynb"
    return [] if soup.find("a", href=url) else [f"no Colab launch link to {url}"]


def page_problems(dom: str, page: Path, docname: str, nb=None) -> list[str]:
    """Everything wrong with the rendered `dom` of `page`; `nb` for notebook chapters."""
    soup = BeautifulSoup(dom, "html.parser")
    problems = title_problems(soup) + error_marker_problems(soup) + math_problems(soup)
    problems += image_problems(soup, page, image_outputs(nb) if nb is not None else 0)
    if nb is not None:
        problems += colab_problems(soup, docname)
    return problems


# ---- the browser and the book ------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser test")
        pytest.skip(message)
    return path


def render(chromium: str, page: Path, profile: Path) -> str:
    """The DOM of `page` after its scripts ran, as headless Chromium dumps it."""
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return result.stdout


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> Path:
    if os.environ.get("SRLTEACH_BOOK_HTML"):
        return Path(os.environ["SRLTEACH_BOOK_HTML"]).resolve()
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sysconfig.get_path("scripts")) / "jupyter-book"
    build = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "--keep-going"],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, f"book build failed:\n{build.stdout[-6000:]}\n{build.stderr[-6000:]}"
    return out / "_build" / "html"


@pytest.mark.parametrize("docname", toc_documents())
def test_rendered_page(docname, chromium, html_dir, tmp_path):
    page = html_dir / f"{docname}.html"
    assert page.is_file(), f"{page} was not built"
    source = ROOT / f"{docname}.ipynb"
    nb = nbformat.read(source, as_version=4) if source.exists() else None
    problems = page_problems(render(chromium, page, tmp_path), page, docname, nb)
    assert not problems, f"{docname}: " + "; ".join(problems)


# ---- the checks can fail -------------------------------------------------------------

def figure_notebook(n_figures: int):
    png = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    return new_notebook(cells=[new_code_cell("plt.show()", outputs=[png] * n_figures)])


def test_good_chapter_page_passes(chromium, tmp_path):
    """A page with a title, typeset maths, its figure and its launch link passes."""
    page = tmp_path / "html" / "book" / "good.html"
    (tmp_path / "html" / "_images").mkdir(parents=True)
    (tmp_path / "html" / "_images" / "figure.png").write_bytes(b"")
    page.parent.mkdir()
    page.write_text(
        "<html><body><article><h1>A chapter</h1>"
        "<p><span class='math'><mjx-container>x</mjx-container></span></p>"
        "<img src='../_images/figure.png'>"
        f"<a href='{COLAB}book/good.ipynb'>Colab</a></article></body></html>"
    )
    dom = render(chromium, page, tmp_path / "profile")
    assert page_problems(dom, page, "book/good", figure_notebook(1)) == []


def test_broken_chapter_page_is_rejected(chromium, tmp_path):
    """No title, a Sphinx error, unparsed and untypeset maths, a missing figure file, fewer
    figures than the notebook has, no launch link: each is reported."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><article><p>Unparsed $$x^2$$</p>"
        "<span class='math notranslate nohighlight'>\\(y\\)</span>"
        "<div class='system-message'>Unknown directive type</div>"
        "<img src='_images/missing.png'></article></body></html>"
    )
    dom = render(chromium, page, tmp_path / "profile")
    assert page_problems(dom, page, "book/broken", figure_notebook(2)) == [
        "no <h1> title in the article",
        "1 build-error marker(s) in the page",
        "1 of 1 maths not typeset by MathJax",
        "raw $$ in the page text (maths not parsed)",
        "missing image file '_images/missing.png'",
        "1 figures in the page, 2 image outputs in the notebook",
        f"no Colab launch link to {COLAB}book/broken.ipynb",
    ]
