"""The package's layers: a module imports only from its own layer and the layers below.

foundations < solvers, analysis < learning < economies < presentation (see
`srlteach/__init__.py`). Economies never import one another, and nothing imports in a
cycle. The check reads the source (every `import`/`from` statement, local ones included),
so it needs no import to succeed.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "srlteach"
RANK = {"foundations": 0, "solvers": 1, "analysis": 1, "learning": 2, "economies": 3, "presentation": 4}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, name: str) -> set:
    """The srlteach modules that `source` (the module `name`) imports, absolute names."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(name.split(".")[: -node.level] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from srlteach.learning import spg`
    return {m for m in found if m.split(".")[0] == "srlteach"}


def modules() -> dict:
    return {module_name(p): p.read_text() for p in PACKAGE.rglob("*.py")}


def layer(name: str):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package root


def violations(sources: dict) -> list:
    """Imports that run against the layers, as 'importer -> imported: why' strings."""
    known = set(sources)
    found = []
    for name, source in sources.items():
        for target in imported_modules(source, name):
            if target not in known or target == "srlteach":
                continue  # a name inside a module (`from m import f`), or the root's x64 switch
            a, b = layer(name), layer(target)
            if a is None:
                continue  # the root may import anything (it imports nothing but jax today)
            if b is None or b not in RANK or a not in RANK:
                found.append(f"{name} -> {target}: unknown layer")
            elif RANK[b] > RANK[a]:
                found.append(f"{name} -> {target}: {a} may not import {b}")
            elif a == b == "economies" and name.split(".")[2] != target.split(".")[2] and len(target.split(".")) > 2:
                found.append(f"{name} -> {target}: one economy may not import another")
            elif RANK[a] == RANK[b] and a != b:
                found.append(f"{name} -> {target}: {a} and {b} are side by side")
    return found


def cycles(sources: dict) -> list:
    """Import cycles between modules (a package's import of its own sub-modules excluded)."""
    graph = {
        name: {t for t in imported_modules(src, name) if t in sources and t != name and not t.startswith(name + ".")}
        for name, src in sources.items()
    }
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                found.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    return found


def test_every_module_sits_in_a_layer():
    names = [n for n in modules() if n != "srlteach"]
    assert names and all(layer(n) in RANK for n in names), [n for n in names if layer(n) not in RANK]


def test_imports_follow_the_layers():
    assert violations(modules()) == []


def test_no_import_cycles():
    assert cycles(modules()) == []


@pytest.mark.parametrize(
    "importer, statement, why",
    [
        ("srlteach.solvers.equilibrium", "from srlteach.economies.huggett import Huggett", "solvers may not import economies"),
        ("srlteach.foundations.distributions", "from srlteach.learning import spg", "foundations may not import learning"),
        ("srlteach.economies.huggett.srl", "from srlteach.economies.krusell_smith import prices", "one economy may not import another"),
        ("srlteach.analysis.forecasting", "from srlteach.solvers.household import egm", "side by side"),
    ],
)
def test_a_wrong_import_is_caught(importer, statement, why):
    """The check is not vacuous: one deliberately wrong import in a real module fails it."""
    sources = modules()
    sources[importer] += f"\n\ndef _late():\n    {statement}\n"  # a local import counts too
    assert any(why in v for v in violations(sources))


def test_a_cycle_is_caught():
    sources = modules()
    sources["srlteach.foundations.utility"] += "\nimport srlteach.foundations.distributions\n"
    sources["srlteach.foundations.distributions"] += "\nimport srlteach.foundations.utility\n"
    assert cycles(sources)
