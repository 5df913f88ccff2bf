"""The package's shape (issue 11): stages as subpackages, no import circles, short modules,
no generated code, the grammar in its own file and lark imported only when needed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cmdxlate"
STAGES = ("syntax", "model", "resolver", "boards", "catalog", "emit", "oracle", "cli", "testing")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def module_level_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """cmdxlate modules imported when ``path`` is imported (not in functions, not for
    type checking); ``from pkg import mod`` counts as importing ``pkg.mod``."""
    out: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cmdxlate"):
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(known)
            out |= subs or {node.module}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
    return out


def test_stages_are_subpackages() -> None:
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


def test_no_import_circles() -> None:
    known = modules()
    graph = {name: module_level_imports(path, known) for name, path in known.items()}
    for name in list(graph):  # importing a.b.c imports a.b first
        for dep in list(graph[name]):
            parts = dep.split(".")
            graph[name] |= {".".join(parts[:i]) for i in range(2, len(parts))
                            if not name.startswith(".".join(parts[:i]) + ".")
                            and name != ".".join(parts[:i])}
    circles = []

    def visit(node: str, path: list[str], seen: set[str]) -> None:
        for dep in sorted(graph.get(node, ())):
            if dep == path[0]:
                circles.append([*path, dep])
            elif dep not in seen and dep > path[0]:
                seen.add(dep)
                visit(dep, [*path, dep], seen)

    for start in sorted(graph):
        visit(start, [start], set())
    assert circles == []


def test_no_module_over_600_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in [*PACKAGE.rglob("*.py"),
                                                  *(ROOT / "tests").glob("*.py")]
            if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


def test_the_grammar_is_one_file_and_lark_is_imported_lazily() -> None:
    assert (ROOT / "grammar" / "optstring.lark").is_file()
    assert not any("generated" in p.name or p.stat().st_size > 200_000
                   for p in PACKAGE.rglob("*.py"))
    code = ("import sys; from cmdxlate.syntax.argv import parse_argv; "
            "parse_argv(['-M', 'q35', '-smp', '4,maxcpus=8']); print('lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
