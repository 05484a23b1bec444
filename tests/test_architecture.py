"""socklab's shape: layers whose imports point one way, no private name shared, short modules.

Learners read socklab, and code a learner reads is code a learner copies. These
tests keep what socklab/__init__.py's docstring draws true: each module imports
only from the layers below it (so there is no cycle), no module reaches for
another's private names, and no module is too long to read in one sitting.
"""

import ast
from pathlib import Path

import pytest

import socklab

PACKAGE = Path(socklab.__file__).parent
MOST_LINES = 600


def modules() -> dict:
    """'servers' -> its path, 'grading.common' -> its path; __init__ files are the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(name: str, level: int, here: str, is_package: bool) -> str:
    """The socklab module an import names, relative to the module ``here``."""
    if level == 0:
        return name[len("socklab."):] if name.startswith("socklab.") else ("" if name == "socklab" else None)
    base = here.split(".") if here else []
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports(module: str, path: Path) -> list:
    """(imported module, imported name or None, line) for every import of socklab code,
    at the top of the module or inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found = []
    known = modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, 0, module, is_package)
                if target is not None:
                    found.append((target, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module or "", node.level, module, is_package)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                if sub in known:  # from . import widgets: the module itself
                    found.append((sub, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("."):
                found.append((_resolve(arg.value.lstrip("."), 1, module, is_package), None, node.lineno))
            elif isinstance(arg, ast.JoinedStr):  # importlib.import_module(f".{name}", ...) in __init__
                found.append(("*", None, node.lineno))
    return [(t, n, line) for t, n, line in found if t != module]


def graph() -> dict:
    """module -> the set of socklab modules it imports (the facade, socklab/__init__.py, left out)."""
    edges = {}
    for module, path in modules().items():
        if module == "":
            continue
        edges[module] = {t for t, _, _ in imports(module, path) if t not in ("", "*")}
    return edges


def test_every_import_names_a_module_that_exists():
    known = set(modules())
    for module, targets in graph().items():
        assert targets <= known, f"{module} imports {sorted(targets - known)}, which socklab does not have"


def test_no_module_imports_the_package_facade():
    """socklab/__init__.py imports the modules; a module importing it back would close a loop."""
    for module, path in modules().items():
        if module:
            assert all(t != "" for t, _, _ in imports(module, path)), f"{module} imports socklab itself"


def _cycle(edges):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    cycle = _cycle(graph())
    assert cycle is None, "socklab's imports go round in a circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_private_name_crosses_a_module():
    """``from .servers import _helper`` couples two modules through something one of
    them never promised; make the name public, or move it where it is used."""
    crossing = []
    for module, path in modules().items():
        for target, name, line in imports(module, path):
            if name and name.startswith("_") and not name.startswith("__"):
                crossing.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} from {target or 'socklab'}")
        tree = ast.parse(path.read_text())
        imported_modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                            and node.level for alias in node.names if alias.name in modules()}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                crossing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert crossing == []


def test_no_module_is_too_long_to_read():
    long = {m or "__init__": n for m, p in modules().items() if (n := len(p.read_text().splitlines())) > MOST_LINES}
    assert long == {}, f"modules over {MOST_LINES} lines: split them by idea"


def drawn_layers(doc: str) -> list:
    """The layers socklab/__init__.py's docstring draws, lowest first: a row is a line of
    the picture that starts with module names; a line starting with more spaces goes on
    describing the row above."""
    picture = doc.split("::", 1)[1]
    rows = []
    for line in picture.splitlines():
        if line.startswith("    ") and not line.startswith("     ") and line.strip():
            names = line.strip().split("   ")[0].split()
            rows.append(set(names))
        elif line.strip() and not line.startswith(" "):
            break  # the end of the literal block
    return rows[::-1]


LAYERS = drawn_layers(socklab.__doc__) + [{"__main__"}]


def test_the_picture_has_every_module_once():
    drawn = [m for layer in LAYERS for m in layer]
    top = {m.split(".")[0] for m in modules() if m}
    assert len(drawn) == len(set(drawn)), "a module drawn twice"
    assert set(drawn) == top, f"drawn but missing: {sorted(set(drawn) - top)}; not drawn: {sorted(top - set(drawn))}"


def test_the_picture_reader_reads_rows_and_skips_descriptions():
    doc = "x::\n\n    b  c      about b and c\n                  more about them\n    a          about a\n\nAfter.\n"
    assert drawn_layers(doc) == [{"a"}, {"b", "c"}]


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"socklab.{module} is in no layer: draw it in socklab/__init__.py's docstring")


def test_imports_point_down_the_layers():
    upward = []
    for module, targets in graph().items():
        for target in targets:
            same_package = module.split(".")[0] == target.split(".")[0]
            if not same_package and _layer(target) >= _layer(module):
                upward.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert upward == []


@pytest.mark.parametrize("bad, message", [
    ("from .servers import _bind_error\n", "imports _bind_error"),
    ("from . import servers\nservers._registry\n", "uses servers._registry"),
])
def test_the_private_name_check_catches_a_crossing(tmp_path, bad, message):
    fake = tmp_path / "socklab"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "servers.py").write_text("_registry = {}\ndef _bind_error(): pass\n")
    (fake / "other.py").write_text(bad)
    globals()["PACKAGE"] = fake
    try:
        with pytest.raises(AssertionError, match=message):
            test_no_private_name_crosses_a_module()
    finally:
        globals()["PACKAGE"] = Path(socklab.__file__).parent
