"""docs/chapter1.ipynb runs as it is: its code cells executed in order in one namespace, the value of a
cell's last expression kept as Jupyter shows it (no Jupyter needed, no network)."""

import ast
import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "chapter1.ipynb"


def run_cell(source, namespace):
    """Run one cell as Jupyter does; return the value of its last line if that is an expression."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 (the repository's own notebook)
    return eval(compile(ast.Expression(last.value), str(NOTEBOOK), "eval"), namespace) if last else None


def test_the_notebook_runs_and_prints_each_epoch_as_it_ends(capsys):
    pytest.importorskip("matplotlib")
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] for cell in code)  # stored without outputs
    namespace = {}
    shown = [run_cell("".join(cell["source"]), namespace) for cell in code]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["Epoch 0", "Epoch 1", "Epoch 2"]
    assert namespace["scores"] == [int(line.split()[2]) for line in lines[:3]]
    assert lines[3] == "Epoch 0 training complete" and lines[4].startswith("Cost on evaluation data: ")
    assert len(namespace["evaluation_accuracy"]) == 2
    figure = shown[1]
    assert type(figure).__name__ == "Figure" and figure.axes[0].get_title() == "784-30-10, eta 3.0"
