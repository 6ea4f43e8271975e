"""The estimator package declares its public surface once, sorted, and imports only torch/numpy."""

from __future__ import annotations

import ast
from pathlib import Path

import workers.estimators as estimators

PACKAGE = Path(estimators.__file__).parent
ALLOWED_ROOTS = {
    "torch",
    "numpy",
    "math",
    "typing",
    "dataclasses",
    "collections",
    "numbers",
    "__future__",
    "functools",
    "itertools",
    "workers",
}


def test_all_is_sorted_and_resolves() -> None:
    assert estimators.__all__ == sorted(estimators.__all__)
    for name in estimators.__all__:
        assert getattr(estimators, name) is not None, name


def test_estimators_import_only_torch_numpy_and_themselves() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = {node.module.split(".")[0]}
                if roots == {"workers"}:
                    assert node.module.startswith("workers.estimators"), (path, node.module)
            else:
                continue
            assert roots <= ALLOWED_ROOTS, (path.name, roots - ALLOWED_ROOTS)
