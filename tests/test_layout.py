"""The package's layers, as its folders show them: the engine behind its package interface, the
book-facing layer on top of it, the tools around both.

- ``fastnet/engine``: imports nothing of fastnet's outside the engine;
- everything else reaches the engine only through ``fastnet.engine`` itself, never a module of it;
- ``fastnet/_book`` and the drop-ins (``network``, ``network2``, ``mnist_loader``) never import the tools.
"""

import ast
from pathlib import Path

import pytest

import fastnet

PACKAGE = Path(fastnet.__file__).resolve().parent
DROP_INS = {"network", "network2", "mnist_loader"}


def fastnet_imports(path):
    """The fastnet modules that the module at ``path`` imports, as dotted names (``fastnet.engine.jit``)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # a module's package, or an __init__'s own
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "fastnet"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            if module.split(".")[0] != "fastnet":
                continue
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]  # ``from . import x`` may name a module
    return [name for name in found if _is_module(name)]


def _is_module(name):
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_layer_may(path):
    layer = path.relative_to(PACKAGE).parts[0]
    for name in fastnet_imports(path):
        parts = name.split(".")
        if layer == "engine":
            assert parts[:2] == ["fastnet", "engine"], f"the engine imports {name}"
        elif parts[:2] == ["fastnet", "engine"]:
            assert len(parts) == 2, f"{path.name} reaches into the engine's {name}: import it from fastnet.engine"
        if layer == "_book" or path.stem in DROP_INS:
            assert parts[:2] != ["fastnet", "tools"], f"{path.name} of the book-facing layer imports the tool {name}"


def test_the_layers_are_all_there():
    """The check above has something to check: every layer exists and imports what it should."""
    layers = {path.relative_to(PACKAGE).parts[0] for path in MODULES}
    assert {"engine", "_book", "tools", "network.py", "network2.py", "mnist_loader.py"} <= layers
    assert "fastnet.engine" in fastnet_imports(PACKAGE / "network.py")
    assert "fastnet.engine.jit" in fastnet_imports(PACKAGE / "engine" / "kernels.py")
