"""MMKP benchmark instances as BoM problems, and the exact / greedy figures on them.

An MMKP (pick one item per group, maximise value, keep every resource under its capacity) is a BoM
selection with costs instead of values: cost = (max value in the group) - value, each resource a
ResourceLimit. The instances are read from ``../shared/benchmarks/mmkp`` beside the repository
(or ``$MMKP_DIR``); nothing is copied into the repository.

    python benchmarks/mmkp.py            # writes benchmarks/results/mmkp.csv
"""

from __future__ import annotations

import csv
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MMKP_DIR = Path(os.environ.get("MMKP_DIR", REPO.parent / "shared" / "benchmarks" / "mmkp"))

KHAN_OPTIMA = {"I01": 173.0, "I02": 364.0, "I03": 1602.0, "I04": 3597.0}
# the largest Hiremath-Hill problem quoted on its own (25 classes x 10 items x 25 constraints, published 2018)
HIREMATH_SINGLE = (("TestSet9.25GP10IT25KP", 9),)


@dataclass(frozen=True)
class MmkpInstance:
    name: str
    capacities: list[float]
    groups: list[list[tuple[float, list[float]]]]  # per group: (value, resource use) per item
    optimum: float | None = None


def _numbers(tokens: list[str]) -> list[float]:
    return [float(t) for t in tokens]


def _groups(tokens: list[str], pos: int, n: int, items: int, m: int
            ) -> tuple[list[list[tuple[float, list[float]]]], int]:
    """n groups, each a group-index token then ``items`` rows of value and m resource uses."""
    groups = []
    for _ in range(n):
        pos += 1  # group index
        rows = []
        for _ in range(items):
            row = _numbers(tokens[pos: pos + 1 + m])
            rows.append((row[0], row[1:]))
            pos += 1 + m
        groups.append(rows)
    return groups, pos


def read_khan(path: Path) -> MmkpInstance:
    tokens = path.read_text().split()
    if "Solutions" in tokens:
        tokens = tokens[: tokens.index("Solutions")]
    n, l_items, m = (int(float(t)) for t in tokens[:3])
    pos = 3
    capacities = _numbers(tokens[pos: pos + m])
    groups, _ = _groups(tokens, pos + m, n, l_items, m)
    return MmkpInstance(path.stem, capacities, groups, KHAN_OPTIMA.get(path.stem))


def read_hiremath_hill(path: Path, optima: dict[tuple[str, int], float]) -> list[MmkpInstance]:
    tokens = path.read_text().split()
    instances, pos = [], 0
    while pos < len(tokens):
        number, n, l_items, m = (int(float(t)) for t in tokens[pos: pos + 4])
        pos += 4
        capacities = _numbers(tokens[pos: pos + m])
        groups, pos = _groups(tokens, pos + m, n, l_items, m)
        instances.append(MmkpInstance(f"{path.stem}#{number}", capacities, groups, optima.get((path.stem, number))))
    return instances


def hiremath_hill_optima() -> dict[tuple[str, int], float]:
    with (MMKP_DIR / "hiremath-hill" / "optima.csv").open() as fh:
        return {(row["test_set"], int(row["problem"])): float(row["optimum"]) for row in csv.DictReader(fh)}


def to_catalog(instance: MmkpInstance):
    """The MMKP as a BoM catalogue: one position per group, one supplier offering every item."""
    from aas_quantum.catalog import Catalog, Offer, PositionSpec, Request, ResourceLimitSpec, Supplier, Variant

    attribute = [f"urn:aas-quantum:mmkp:resource:{k + 1}" for k in range(len(instance.capacities))]
    positions, offers = [], []
    for g, items in enumerate(instance.groups):
        best = max(v for v, _ in items)
        variants = []
        for i, (value, use) in enumerate(items):
            part = f"G{g + 1}-I{i + 1}"
            variants.append(Variant(part, attributes=tuple(zip(attribute, use, strict=True))))
            offers.append(Offer(part, best - value, "EUR"))
        positions.append(PositionSpec(f"{g + 1:04d}", f"group {g + 1}", 1.0, variants=tuple(variants)))
    limits = tuple(ResourceLimitSpec(f"Resource{k + 1}", attribute[k], "<=", cap)
                   for k, cap in enumerate(instance.capacities))
    request = Request(product_id=f"mmkp:{instance.name}", currency="EUR", resource_limits=limits)
    return Catalog(request, tuple(positions), (Supplier("MMKP", "MMKP items", offers=tuple(offers)),))


def value_of(instance: MmkpInstance, objective_cost: float) -> float:
    """MMKP value of a selection whose BoM cost is ``objective_cost``."""
    return sum(max(v for v, _ in items) for items in instance.groups) - objective_cost


def instances(khan: tuple[str, ...] = ("I01", "I02", "I03", "I04"),
              hiremath_sets: tuple[str, ...] = ("TestSet1.5GP10IT5KP", "TestSet2.10GP10IT5KP"),
              hiremath_single: tuple[tuple[str, int], ...] = HIREMATH_SINGLE) -> list[MmkpInstance]:
    out = [read_khan(MMKP_DIR / "khan" / f"{name}.txt") for name in khan]
    optima = hiremath_hill_optima()
    for name in hiremath_sets:
        out.extend(read_hiremath_hill(MMKP_DIR / "hiremath-hill" / f"{name}.txt", optima))
    for name, number in hiremath_single:
        out.extend(i for i in read_hiremath_hill(MMKP_DIR / "hiremath-hill" / f"{name}.txt", optima)
                   if i.name == f"{name}#{number}")
    return out


def main() -> int:
    sys.path.insert(0, str(REPO))
    from results_io import write_csv

    from aas_quantum.problem import build_problem
    from aas_quantum.solvers import SolveOptions, get_solver

    if not MMKP_DIR.is_dir():
        print(f"MMKP instances not found at {MMKP_DIR}; set MMKP_DIR", file=sys.stderr)
        return 1
    rows = []
    for inst in instances():
        problem = build_problem(to_catalog(inst))
        row = {"instance": inst.name, "groups": len(inst.groups), "items": len(inst.groups[0]),
               "dims": len(inst.capacities), "published_optimum": inst.optimum}
        for method in ("exact", "greedy", "greedy+ls"):
            start = time.perf_counter()
            sol = get_solver(method).solve(problem, SolveOptions(time_limit_s=60))
            key = method.replace("+", "_")
            row[f"{key}_value"] = value_of(inst, sol.objective) if sol.objective is not None else None
            row[f"{key}_seconds"] = round(time.perf_counter() - start, 4)
            if method == "exact":  # proven, or the best bound HiGHS reached within the time limit
                row["exact_status"] = sol.status.value
                row["exact_value_bound"] = None if sol.bound is None else round(value_of(inst, sol.bound), 4)
        rows.append(row)
        print(row)
    out = write_csv("mmkp.csv", rows)
    matched = sum(1 for r in rows if r["published_optimum"] is not None
                  and abs(r["exact_value"] - r["published_optimum"]) < 1e-6)
    print(f"exact matches the published optimum on {matched}/{len(rows)} instances; written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
