"""Which top-level package imports which: counts of module-to-module import edges, as markdown.

Run from any directory, with the tree to inspect first on the import path::

    PYTHONPATH=. .venv/bin/python docs/import_graph.py
    PYTHONPATH=/tmp/old .venv/bin/python docs/import_graph.py --root /tmp/old --old-layout

An edge is one module importing another module of the six packages (grimp's graph: every
``import`` statement it finds, also those inside functions; imports of outside libraries are not
counted). A cell is the number of edges from a module of the row's package to a module of the
column's package; the diagonal (imports inside one package) is shown in parentheses.

``--old-layout`` is for trees from before the orchestration layer existed, when the command, the
demo, the evaluation and the benchmarks lived in ``storeflow/``: those modules are counted as a
group of their own, "storeflow (orchestration part)", so the kernel's own imports stand apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import grimp

PACKAGES = ("storeflow", "edge", "server", "dashboard", "firmware_sim", "orchestration")
OLD_ORCHESTRATION = frozenset(
    {"cli", "demo", "demo_data", "bench", "bench_data", "evaluate", "replay", "broker", "procs"}
)
OLD_GROUP = "storeflow (orchestration part)"


def present_packages(root: Path) -> list[str]:
    """The packages of ``PACKAGES`` that ``root`` holds, checked to be imported from ``root``."""
    found = []
    for name in PACKAGES:
        if not (root / name / "__init__.py").is_file():
            continue
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin).resolve() if spec and spec.origin else None
        if origin is None or root.resolve() not in origin.parents:
            raise SystemExit(f"{name} is imported from {origin}, not from {root}: set PYTHONPATH")
        found.append(name)
    return found


def group_of(module: str, *, old_layout: bool) -> str:
    top, _, rest = module.partition(".")
    if old_layout and top == "storeflow" and rest.split(".")[0] in OLD_ORCHESTRATION:
        return OLD_GROUP
    return top


def edge_counts(packages: Sequence[str], *, old_layout: bool) -> Counter[tuple[str, str]]:
    """(importer group, imported group) -> number of module-to-module import edges."""
    graph = grimp.build_graph(*packages)
    counts: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        importer = group_of(module, old_layout=old_layout)
        for imported in graph.find_modules_directly_imported_by(module):
            counts[(importer, group_of(imported, old_layout=old_layout))] += 1
    return counts


def table(counts: Counter[tuple[str, str]], groups: Sequence[str]) -> str:
    """A markdown table: rows import columns."""
    lines = [
        "| importer \\ imported | " + " | ".join(f"`{g}`" for g in groups) + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for row in groups:
        cells = []
        for col in groups:
            n = counts.get((row, col), 0)
            cells.append(f"({n})" if row == col else (str(n) if n else "·"))
        lines.append(f"| `{row}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the tree (default: .)")
    parser.add_argument(
        "--old-layout",
        action="store_true",
        help=f"count storeflow.{{{','.join(sorted(OLD_ORCHESTRATION))}}} as {OLD_GROUP!r}",
    )
    args = parser.parse_args(argv)
    packages = present_packages(args.root)
    counts = edge_counts(packages, old_layout=args.old_layout)
    groups = list(packages)
    if args.old_layout:
        groups.insert(1, OLD_GROUP)
    sys.stdout.write(table(counts, groups) + "\n")
    across = sum(n for (a, b), n in counts.items() if a != b)
    sys.stdout.write(f"\n{across} edges between groups.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
