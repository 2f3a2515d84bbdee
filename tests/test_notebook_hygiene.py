"""Chapter notebooks are stored executed, clean and runnable in Colab.

nbval passes a cell that was never executed (nothing stored, nothing to compare), so these
checks catch what nbval cannot. Each check is a pure function of the notebook's JSON and
returns a list of problems; the tests at the bottom prove that each one can fail.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

BOOK = Path(__file__).resolve().parents[1] / "book"
SKIP_TAG = "nbval-skip"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

COLAB_GUARD = re.compile(r"""if\s+["']google\.colab["']\s+in\s+sys\.modules\s*:""")
PIP_INSTALL = re.compile(r"^(\s*)[%!]pip\s+install\b(.*)$", re.MULTILINE)
# jax or jaxlib as a requirement: `jax`, "jax[cuda12]", jaxlib==0.4, .../jax (a URL)
INSTALLS_JAX = re.compile(r"""(^|[\s'"/])jax(lib)?($|[\s'"\[<>=!~;,])""")


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_cells(nb) -> list[tuple[int, dict]]:
    """(index, cell) of the non-empty code cells; empty cells are never executed."""
    return [
        (i, cell) for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and "".join(cell["source"]).strip()
    ]


def execution_problems(nb) -> list[str]:
    """Checked cells are executed, without errors or stderr; skipped cells are blank."""
    problems = []
    for i, cell in code_cells(nb):
        outputs = cell.get("outputs", [])
        if SKIP_TAG in tags(cell):
            if outputs or cell.get("execution_count") is not None:
                problems.append(f"cell {i}: tagged {SKIP_TAG} but has outputs or an execution count")
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {i}: not executed")
        if any(out["output_type"] == "error" for out in outputs):
            problems.append(f"cell {i}: error output")
        if any(out["output_type"] == "stream" and out["name"] == "stderr" for out in outputs):
            problems.append(f"cell {i}: stderr output")
    return problems


def widget_problems(nb) -> list[str]:
    """Saved widget metadata has state, and every widget view refers to saved state.

    Without state the book shows "Error displaying widget" in place of the widget.
    """
    problems = []
    widgets = nb.get("metadata", {}).get("widgets")
    state = (widgets or {}).get(WIDGET_STATE, {}).get("state", {})
    if widgets is not None and not state:
        problems.append("notebook metadata has widgets without state")
    for i, cell in code_cells(nb):
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is not None and view.get("model_id") not in state:
                problems.append(f"cell {i}: widget view without saved state")
    return problems


def colab_setup_problems(nb) -> list[str]:
    """The first code cell is the Colab-only install of srlteach, and never installs jax."""
    cells = code_cells(nb)
    if not cells:
        return ["no code cells: the first one must be the Colab setup cell"]
    i, cell = cells[0]
    source = "".join(cell["source"])
    problems = []
    if SKIP_TAG not in tags(cell):
        problems.append(f"setup cell {i}: not tagged {SKIP_TAG}")
    guard = COLAB_GUARD.search(source)
    if guard is None:
        problems.append(f'setup cell {i}: no `if "google.colab" in sys.modules:` guard')
    installs = list(PIP_INSTALL.finditer(source))
    if not any("srlteach" in pip.group(2) for pip in installs):
        problems.append(f"setup cell {i}: does not pip-install srlteach")
    for pip in installs:
        if guard is None or pip.start() < guard.end() or not pip.group(1):
            problems.append(f"setup cell {i}: pip install outside the Colab guard")
        if INSTALLS_JAX.search(pip.group(2)):
            problems.append(f"setup cell {i}: installs jax, which would replace Colab's GPU jax")
    return problems


def notebook_problems(nb) -> list[str]:
    return execution_problems(nb) + widget_problems(nb) + colab_setup_problems(nb)


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.ipynb")), ids=lambda path: path.name)
def test_chapter_hygiene(path):
    problems = notebook_problems(nbformat.read(path, as_version=4))
    assert not problems, (
        f"{path.name}: " + "; ".join(problems)
        + "\n(regenerate outputs with `python book/execute_chapters.py " + f"book/{path.name}`)"
    )


# ---- the checks can fail -------------------------------------------------------------

SETUP = '''# Colab only: install srlteach (Colab already has jax, with GPU support: never reinstall it)
import sys
if "google.colab" in sys.modules:
    %pip install -q "srlteach @ git+https://github.com/srlteach/srlteach"'''


def chapter(*cells, setup=SETUP):
    """An in-memory chapter: the Colab setup cell followed by `cells`."""
    setup_cell = new_code_cell(setup, metadata={"tags": [SKIP_TAG]})
    return new_notebook(cells=[setup_cell, *cells])


def executed(source, *outputs, count=1, **kwargs):
    return new_code_cell(source, execution_count=count, outputs=list(outputs), **kwargs)


def test_clean_chapter_passes():
    nb = chapter(
        executed("print(1)", new_output("stream", name="stdout", text="1\n")),
        new_code_cell("explorer_widget()", metadata={"tags": [SKIP_TAG]}),
        new_code_cell(""),
    )
    assert notebook_problems(nb) == []


def test_unexecuted_cell_fails():
    assert execution_problems(chapter(new_code_cell("x = 1"))) == ["cell 1: not executed"]


def test_error_output_fails():
    error = new_output("error", ename="ValueError", evalue="β R ≥ 1", traceback=[])
    assert execution_problems(chapter(executed("raise ValueError", error))) == [
        "cell 1: error output"
    ]


def test_stderr_output_fails():
    warning = new_output("stream", name="stderr", text="UserWarning: ...\n")
    assert execution_problems(chapter(executed("f()", warning))) == ["cell 1: stderr output"]


def test_skipped_cell_with_outputs_fails():
    cell = executed("train(paper_scale)", new_output("stream", name="stdout", text="done\n"),
                    metadata={"tags": [SKIP_TAG]})
    assert execution_problems(chapter(cell)) == [
        f"cell 1: tagged {SKIP_TAG} but has outputs or an execution count"
    ]


@pytest.mark.parametrize("requirement", [
    "jax", '"jax[cuda12]"', "jaxlib", "-U jax==0.4.30", "git+https://github.com/jax-ml/jax",
])
def test_setup_cell_installing_jax_fails(requirement):
    setup = SETUP + f"\n    %pip install -q {requirement}"
    assert colab_setup_problems(chapter(setup=setup)) == [
        "setup cell 0: installs jax, which would replace Colab's GPU jax"
    ]


def test_unguarded_setup_cell_fails():
    setup = '%pip install -q "srlteach @ git+https://github.com/srlteach/srlteach"'
    assert colab_setup_problems(chapter(setup=setup)) == [
        'setup cell 0: no `if "google.colab" in sys.modules:` guard',
        "setup cell 0: pip install outside the Colab guard",
    ]


def test_missing_setup_cell_fails():
    nb = new_notebook(cells=[executed("import srlteach")])
    assert colab_setup_problems(nb) == [
        f"setup cell 0: not tagged {SKIP_TAG}",
        'setup cell 0: no `if "google.colab" in sys.modules:` guard',
        "setup cell 0: does not pip-install srlteach",
    ]


def test_widget_without_state_fails():
    view = new_output("display_data", data={WIDGET_VIEW: {"model_id": "abc", "version_major": 2}})
    nb = chapter(executed("IntSlider()", view))
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {}}}
    assert widget_problems(nb) == [
        "notebook metadata has widgets without state",
        "cell 1: widget view without saved state",
    ]
