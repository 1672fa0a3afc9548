"""The layout's rules (docs/architecture.md), checked on the source so they stay true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "tuneforge"
ENTRY = {"cli", "recipes"}
STAGES = (
    "data models methods train tune track evaluate explain compress batch embed label serve "
    "monitor store report tasks".split()
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in SRC.rglob("*.py")}


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(modules: dict[str, ast.Module], top_level_only: bool = False):
    """(importer, imported module, imported names, node) for every tuneforge import."""
    for name, tree in modules.items():
        is_package = (SRC.parent / name.replace(".", "/") / "__init__.py").is_file()
        nodes = tree.body if top_level_only else ast.walk(tree)
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                target = _absolute(name, node, is_package)
                if target.startswith("tuneforge"):
                    yield name, target, [a.name for a in node.names], node
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("tuneforge"):
                        yield name, alias.name, [], node


MODULES = _modules()


def _package(module: str) -> str:
    """``tuneforge.train.loop`` → ``train``; the root and its own modules → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_stage_imports_recipes_or_the_cli():
    """Stages are composed by recipes and the CLI, never the other way round."""
    bad = [
        f"{importer} imports {target}"
        for importer, target, _, _ in _imports(MODULES)
        if _package(importer) in STAGES and _package(target) in ENTRY
    ]
    assert not bad, bad


def test_nothing_imports_the_package_root():
    """``tuneforge/__init__.py`` re-exports for users; inside the package it is never a source."""
    bad = []
    for importer, target, names, _ in _imports(MODULES):
        if importer == "tuneforge" or target != "tuneforge":
            continue
        submodules = {p.stem for p in SRC.iterdir()}
        bad += [f"{importer}: from tuneforge import {n}" for n in names if n not in submodules]
    assert not bad, bad


def test_no_private_name_crosses_a_module():
    """A leading underscore means 'this module only': no other module imports it."""
    bad = [
        f"{importer} imports {target}.{n}"
        for importer, target, names, _ in _imports(MODULES)
        for n in names
        if n.startswith("_") and not n.startswith("__") and target != importer
    ]
    assert not bad, bad


def test_top_level_imports_form_no_cycle():
    """Module-level imports between tuneforge modules have no cycle."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for importer, target, names, _ in _imports(MODULES, top_level_only=True):
        for dep in [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES] or [target]:
            if dep in MODULES and dep != importer:
                graph[importer].add(dep)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*path, node, dep])}")
            if dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("needle", ["ImagePredictor)", '"featurizer", None', "is_image_artifact"])
def test_only_tasks_tell_images_from_texts(needle):
    """What kind of run something is has one home (tasks/); the duck-typed predicates that
    used to answer it elsewhere stay gone."""
    hits = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if needle in p.read_text(encoding="utf-8") and p.parent.name != "tasks"
    ]
    assert not hits, hits


def test_only_the_run_directory_joins_run_file_names():
    """Run-directory file names are spelt in store/rundir.py only."""
    names = ['"parity.json"', '"tradeoff.json"', '"profile.json"', '"eval.json"', '/ "artifacts"']
    hits = [
        f"{p.relative_to(SRC)}: {n}"
        for p in SRC.rglob("*.py")
        if p.name != "rundir.py"
        for n in names
        if n in p.read_text(encoding="utf-8")
    ]
    assert not hits, hits


def test_every_command_module_is_registered():
    """Each cli/<command>.py with a ``register`` is in the command table."""
    from tuneforge import cli

    registered = {m.__name__.rsplit(".", 1)[1] for m in cli.COMMANDS}
    present = {
        p.stem
        for p in (SRC / "cli").glob("*.py")
        if "def register(" in p.read_text(encoding="utf-8")
    }
    assert present == registered
