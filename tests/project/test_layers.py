"""The layers of evaltools hold (docs/architecture.md, "Layers") and no import circle exists.

Two checks on the import graph of the source (grimp, as built by import-linter; imports
inside functions and under ``TYPE_CHECKING`` count):

- the contracts of ``.importlinter``: the layers contract (no module imports a higher
  layer) and ``acyclic_siblings`` (no circle between the children of any package);
- a strongly-connected-components search over every module: no module reaches itself.

Each check is also run on a copy of the graph with one bad import added, so a check that
passes because it checks nothing would fail here.

Run it: ``.venv/bin/python -m pytest -q tests/project/test_layers.py`` (or ``lint-imports
--no-cache`` for the contracts alone).
"""
from __future__ import annotations

import ast
import configparser
import copy
import re

import grimp
import pytest
from importlinter import configuration
from importlinter.application.use_cases import lint_imports
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract
from tests import ROOT

CONFIG = ROOT / ".importlinter"
SRC = ROOT / "src" / "evaltools"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CONTRACT_TYPES = {"layers": LayersContract, "acyclic_siblings": AcyclicSiblingsContract}

configuration.configure()  # what the lint-imports command sets up before it reads a config


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("evaltools", include_external_packages=False, cache_dir=None)


def _contracts() -> dict[str, tuple[type, dict[str, object]]]:
    """Each contract of .importlinter: its class and its options as import-linter reads them."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    out = {}
    for section in parser.sections():
        if not section.startswith("importlinter:contract:"):
            continue
        options: dict[str, object] = {}
        for key, value in parser[section].items():
            lines = [v.strip() for v in value.strip().splitlines() if v.strip()]
            options[key] = lines if key in ("layers", "containers", "ancestors") else value.strip()
        out[section.split(":", 2)[2]] = (CONTRACT_TYPES[str(options.pop("type"))], options)
    return out


def _check(graph: grimp.ImportGraph, contract_id: str) -> bool:
    cls, options = _contracts()[contract_id]
    contract = cls(name=contract_id, session_options={"root_packages": ["evaltools"]},
                   contract_options=dict(options))
    return contract.check(graph, verbose=False).kept


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    lines = [" <-> ".join(component)]
    for a in component:
        for b in component:
            if graph.direct_import_exists(importer=a, imported=b):
                for d in graph.get_import_details(importer=a, imported=b):
                    lines.append(f"    {a} line {d['line_number']}: {d['line_contents']}")
    return "\n".join(lines)


def test_import_linter_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    kept = lint_imports(config_filename=str(CONFIG), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert kept, report
    assert "2 kept, 0 broken" in report


def test_the_contracts_cover_every_top_level_package() -> None:
    contracts = _contracts()
    assert set(contracts) == {"layers", "no-sibling-cycles"}
    layers = contracts["layers"][1]
    assert layers["exhaustive"] == "true"  # a new top-level module must be given a layer
    assert layers["containers"] == ["evaltools"]
    named = {re.sub(r"[()]", "", part).strip()
             for line in layers["layers"] for part in re.split(r"[|:]", line)}
    children = {p.stem for p in SRC.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert children <= named, f"not in a layer: {sorted(children - named)}"


def test_no_import_circle_between_modules(graph: grimp.ImportGraph) -> None:
    cycles = _cycles(graph)
    assert not cycles, "import circles (move the shared piece down a layer):\n" + "\n".join(
        _describe(graph, c) for c in cycles)


def test_each_check_fails_on_a_graph_with_one_bad_import(graph: grimp.ImportGraph) -> None:
    assert _check(graph, "layers") and _check(graph, "no-sibling-cycles")
    upward = copy.deepcopy(graph)
    upward.add_import(importer="evaltools.core.errors", imported="evaltools.report.record")
    assert not _check(upward, "layers")
    circle = copy.deepcopy(graph)  # within one layer: the layers contract cannot see it
    circle.add_import(importer="evaltools.report.escape", imported="evaltools.report.record")
    assert _check(circle, "layers")
    assert not _check(circle, "no-sibling-cycles")
    assert [c for c in _cycles(circle) if "evaltools.report.escape" in c]


def test_architecture_doc_lists_the_layers_in_the_enforced_order() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    doc_lines = [line for line in section.splitlines() if line.startswith("evaltools.")]
    doc_order = [re.findall(r"evaltools\.(\w+)", line) for line in doc_lines]
    config_order = [[re.sub(r"[()]", "", p).strip() for p in re.split(r"[|:]", line)]
                    for line in _contracts()["layers"][1]["layers"]]
    assert doc_order == config_order


def test_core_imports_nothing_above_it() -> None:
    """The bottom layer, read from the source: only the standard library, numpy, pandas,
    scipy and the two helper modules below it."""
    allowed = {"evaltools.core", "evaltools.text", "evaltools._lazy"}
    for path in sorted((SRC / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evaltools"):
                assert any(node.module == a or node.module.startswith(a + ".") for a in allowed), (
                    f"{path.name} line {node.lineno} imports {node.module}")


def test_one_input_check_helper() -> None:
    """``require_columns`` and friends are defined once, in evaltools.core.inputs."""
    helpers = {"require_columns", "_require_columns", "require_frame", "as_list", "_as_list"}
    defined = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in helpers:
                defined.append(f"{path.relative_to(SRC)}:{node.name}")
    assert sorted(defined) == ["core/inputs.py:as_list", "core/inputs.py:require_columns",
                               "core/inputs.py:require_frame"]
