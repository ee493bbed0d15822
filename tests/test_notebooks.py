"""Every notebook runs top to bottom and its cells raise nothing; notebooks use only the facade."""

from __future__ import annotations

import ast

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

import swisbayes

from .conftest import JOINT_MODEL_GROUP, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FITS_JOINT_MODEL = {"03_all_outcomes.ipynb"}


def _executed(path):
    """A notebook to execute; one that fits the joint model runs with the joint-model tests."""
    marks = [pytest.mark.xdist_group(JOINT_MODEL_GROUP)] if path.name in FITS_JOINT_MODEL else []
    return pytest.param(path, id=path.name, marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("path", [_executed(p) for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    # Notebooks 01-04 fit with their specs' sampler settings. One that reads
    # SWISBAYES_NOTEBOOK_DRAWS (05) gets the specs' 1000 draws per chain: fewer would fail the
    # ESS >= 400 gate that the notebooks assert (compiling, not sampling, dominates the time).
    monkeypatch.setenv("SWISBAYES_NOTEBOOK_DRAWS", "1000")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was drawn"


def test_notebooks_are_present_and_saved_executed():
    assert {p.name for p in NOTEBOOKS} >= {"01_primary_analysis.ipynb",
                                           "02_priors_and_published_results.ipynb",
                                           "03_all_outcomes.ipynb",
                                           "04_prior_sensitivity.ipynb"}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{path.name} is not executed"


def private_uses(source: str) -> list[str]:
    """What a cell reaches of swisbayes other than through ``import swisbayes [as sb]``.

    Flags ``import swisbayes.<sub>``, any ``from swisbayes[.<sub>] import ...``, and an
    attribute of the imported module that the facade does not export (``sb.inference.x``).
    IPython magics are turned into Python first.
    """
    tree = ast.parse(TransformerManager().transform_cell(source))
    aliases: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.name == "swisbayes":
                    aliases.add(name.asname or name.name)
                elif name.name.startswith("swisbayes."):
                    found.append(f"line {node.lineno}: import {name.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == "swisbayes" or node.module.startswith("swisbayes.")):
            found.append(f"line {node.lineno}: from {node.module} import "
                         + ", ".join(n.name for n in node.names))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr not in swisbayes.__all__):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr} (not exported)")
    return found


@pytest.mark.parametrize("source", [
    "import swisbayes.inference.fitting",
    "from swisbayes.workflows.screen import grid_spread",
    "from swisbayes import Analysis",
    "from swisbayes import inference",
    "import swisbayes as sb\nsb.inference.fitting.fit",
    "%matplotlib inline\nimport swisbayes.data as data",
])
def test_the_import_check_catches_private_use(source):
    assert private_uses(source)


def test_the_import_check_allows_the_facade():
    assert private_uses("%matplotlib inline\nimport swisbayes as sb\nimport swisbayes\n"
                        "sb.Analysis(sb.load_spec('s47_primary'), sb.load_example())\n"
                        "swisbayes.fit") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_uses_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    found = [f"cell {i}, {use}" for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             for use in private_uses(cell.source)]
    assert not found, (f"{path.name} reaches past `import swisbayes as sb`: " + "; ".join(found)
                       + ". Use the facade; export a missing public name in "
                         "swisbayes/__init__.py's _GROUPS.")
