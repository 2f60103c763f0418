"""The floors of the package: names at the bottom, implementations above. Every import of every
module (at its top or inside a function) points down or sideways, and no set of modules imports
itself round a circle. A name resolved lazily through the catalog (``harness.catalog``) is not an
import: that is how the bottom names what lives above it (ASE's ``calculators/names.py``).

Floors, from the ground up (README, "How the code is laid out"):

1. leaves: errors, units, names, limits, files, provenance, progress, catalog, lock, _env, _quiet;
2. config/ (frozen settings, YAML readers), runs (the run folder), cache;
3. io/ (what users bring), models/ (one Family per model family);
4. analysis/, systems, scaffold, training/ (the families' own trainers);
5. report/ (figures), defects;
6. lammps/ (sessions, launch, render, deck text);
7. engines;
8. forces (force sessions: an engine and a session);
9. tasks/, preflight/;
10. jobs/;
11. cli/, __main__.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "harness"

FLOORS = [
    ("harness", "harness.errors", "harness.units", "harness.names", "harness.limits", "harness.files",
     "harness.provenance", "harness.progress", "harness.catalog", "harness.lock", "harness._env", "harness._quiet"),
    ("harness.config", "harness.runs", "harness.cache"),
    ("harness.io", "harness.models"),
    ("harness.analysis", "harness.systems", "harness.scaffold", "harness.training"),
    ("harness.report", "harness.defects", "harness.slabs", "harness.pointdefects", "harness.arrangements"),
    ("harness.lammps",),
    ("harness.engines",),
    ("harness.forces", "harness.relax"),
    ("harness.tasks", "harness.preflight"),
    ("harness.jobs",),
    ("harness.cli", "harness.__main__"),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "_shipped" not in p.parts}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every harness module ``name`` imports, anywhere in its file (``from . import x`` of a
    submodule counts as importing that submodule)."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[: len(base) - (node.level - 1)]
                mod = ".".join(stem + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t.startswith("harness"):
                out.add(t)
    return out


def floor_of(name: str) -> int:
    best, floor = -1, None
    for i, group in enumerate(FLOORS):
        for prefix in group:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, floor = len(prefix), i
    assert floor is not None, f"{name} is on no floor: add it to FLOORS (and the README)"
    return floor


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports(name, path, known) for name, path in mods.items()}


def upward_edges(g: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} (floor {floor_of(a) + 1}) imports {b} (floor {floor_of(b) + 1})"
                  for a, targets in g.items() for b in targets
                  # a package's __init__ may import its own submodules (its face)
                  if floor_of(b) > floor_of(a))


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_on_a_floor():
    for name in modules():
        floor_of(name)


def test_no_import_runs_up_a_floor():
    assert upward_edges(graph()) == []


def test_no_import_circle():
    assert circles(graph()) == []


def test_floors_printable():
    """The floors as the README draws them (what `python tests/test_layers.py` prints)."""
    per_floor = defaultdict(list)
    for name in modules():
        per_floor[floor_of(name)].append(name)
    assert all(per_floor[i] for i in range(len(FLOORS)))


if __name__ == "__main__":  # the picture: floors with their modules, top floor first
    g = graph()
    per_floor = defaultdict(list)
    for name in sorted(modules()):
        per_floor[floor_of(name)].append(name)
    for i in reversed(range(len(FLOORS))):
        print(f"floor {i + 1:2d}: " + ", ".join(n.removeprefix("harness.") or "harness" for n in per_floor[i]))
    for line in upward_edges(g):
        print("UP:", line)
    for c in circles(g):
        print("CIRCLE:", " -> ".join(c))
