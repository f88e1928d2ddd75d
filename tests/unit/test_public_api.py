"""The package uses only public names of torch, Lightning and the other libraries it builds on.

Walks the AST of every module in ``lightning_gan/`` and fails on: an import of a private module or name
(a leading underscore: ``from torch.optim.optimizer import _global_optimizer_pre_hooks``), an attribute
with a leading underscore read from anything but ``self``/``cls`` (``torch._foo``, ``optimizer._bar``),
a ``self._name`` that the class itself never assigns or defines (a base class's private state), a
dunder that reaches into objects (``__wrapped__``, ``__class__`` assignment, ``__dict__``), and a
``__setattr__`` override. Exceptions live in ``allowlist.txt`` beside this file, one per line as
``path:line-text-fragment  # reason``.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lightning_gan"
ALLOWLIST = Path(__file__).with_name("allowlist.txt")
REACHING_DUNDERS = {"__wrapped__", "__class__", "__dict__", "__globals__", "__code__", "__closure__"}


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def own_private_names(tree: ast.AST) -> dict[ast.ClassDef, set[str]]:
    """Per class: the private names it defines (methods) or assigns on ``self``/``cls``."""
    owned = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = set()
            for inner in ast.walk(node):
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and private(inner.name):
                    names.add(inner.name)
                targets = []
                if isinstance(inner, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
                for target in targets:
                    for element in ast.walk(target):
                        if isinstance(element, ast.Attribute) and isinstance(element.value, ast.Name):
                            if element.value.id in ("self", "cls") and private(element.attr):
                                names.add(element.attr)
                        if isinstance(element, ast.Name) and private(element.id):
                            names.add(element.id)
            owned[node] = names
    return owned


def violations(path: Path) -> list[tuple[int, str]]:
    """``(line, what)`` for every use of a private or reaching name in one source file."""
    source = path.read_text()
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("lightning_gan"):
            if any(private(part) for part in node.module.split(".")):
                found.append((node.lineno, f"import from private module {node.module}"))
            found += [
                (node.lineno, f"import of private name {a.name}") for a in node.names if private(a.name)
            ]
        if isinstance(node, ast.Import):
            for alias in node.names:
                if any(private(part) for part in alias.name.split(".")):
                    found.append((node.lineno, f"import of private module {alias.name}"))
        if isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if private(node.attr) and base not in ("self", "cls"):
                found.append((node.lineno, f"private attribute .{node.attr}"))
            if node.attr in REACHING_DUNDERS:
                found.append((node.lineno, f"reaching dunder .{node.attr}"))
        if isinstance(node, ast.FunctionDef) and node.name == "__setattr__":
            found.append((node.lineno, "__setattr__ override"))
    for cls, names in own_private_names(tree).items():
        for node in ast.walk(cls):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in ("self", "cls") and private(node.attr) and node.attr not in names:
                    found.append((node.lineno, f"inherited private self.{node.attr} in {cls.name}"))
    return found


def allowed() -> list[tuple[str, str]]:
    entries = []
    for line in ALLOWLIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            location, _, reason = line.partition("#")
            assert reason.strip(), f"allowlist entry without a reason: {line!r}"
            file, _, fragment = location.strip().partition(":")
            entries.append((file, fragment.strip()))
    return entries


def test_the_package_uses_no_private_name_of_its_dependencies():
    entries = allowed()
    used = set()
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE.parent))
        lines = path.read_text().splitlines()
        for line, what in violations(path):
            match = [e for e in entries if e[0] == relative and e[1] and e[1] in lines[line - 1]]
            if match:
                used.update(match)
            else:
                problems.append(f"{relative}:{line}: {what}: {lines[line - 1].strip()}")
    assert not problems, "\n".join(problems)
    assert used == set(entries), f"allowlist entries that match nothing (remove them): {set(entries) - used}"


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("from torch.optim.optimizer import _global_optimizer_pre_hooks\n", "import of private name"),
        ("from lightning.fabric.utilities.types import _PATH\n", "import of private name"),
        ("import torch._dynamo\n", "import of private module"),
        ("import torch\ntorch._amp_foreach_non_finite_check_and_unscale_([], 0, 1)\n", "private attribute"),
        ("def f(opt):\n    opt._on_before_step()\n", "private attribute"),
        ("def f(s, cls):\n    s.__class__ = cls\n", "reaching dunder"),
        ("def f(step):\n    return step.__wrapped__\n", "reaching dunder"),
        ("class A:\n    def __setattr__(self, name, value):\n        pass\n", "__setattr__ override"),
        ("class S(Base):\n    def f(self):\n        return self._ddp_kwargs\n", "inherited private"),
    ],
)
def test_each_kind_of_private_use_is_caught(tmp_path, source, what):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert any(what in found for _, found in violations(path))


def test_own_private_state_is_fine(tmp_path):
    path = tmp_path / "module.py"
    path.write_text(
        "class A:\n    def __init__(self):\n        self._x = 1\n    def _f(self):\n        return self._x\n"
    )
    assert violations(path) == []


def test_no_package_file_is_over_300_lines():
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 300
    }
    assert long == {}, f"files over the house limit of 300 lines: {long}"
