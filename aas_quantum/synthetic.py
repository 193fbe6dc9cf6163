"""Reproducible synthetic BoM catalogues (for benchmarks and property tests).

Limits are placed between the lightest and the cheapest selection, so they bind: the cheapest
option per position usually violates them and the solvers have something to do.
"""

from __future__ import annotations

import numpy as np

from aas_quantum import contract
from aas_quantum.catalog import (
    Catalog,
    ObjectiveWeights,
    Offer,
    PositionSpec,
    PriceBreak,
    Request,
    Supplier,
    Variant,
)


def synthetic_catalog(
    n_positions: int,
    seed: int = 0,
    options_per_position: tuple[int, int] = (2, 4),
    n_suppliers: int = 5,
    weight_tightness: float = 0.5,
    budget_tightness: float | None = None,
    with_rules: bool = True,
    concentration: float = 0.0,
) -> Catalog:
    """A catalogue of ``n_positions`` positions; the same arguments always give the same catalogue.

    Each variant is offered by exactly one supplier, so options per position = variants per position.
    """
    rng = np.random.default_rng(seed)
    supplier_ids = [f"SUP-{i:03d}" for i in range(1, n_suppliers + 1)]
    offers: dict[str, list[Offer]] = {s: [] for s in supplier_ids}
    positions = []
    light_total = cheap_weight = cheap_cost = 0.0
    for p in range(n_positions):
        quantity = _pick(rng, (1, 1, 2, 4, 10))
        k = int(rng.integers(options_per_position[0], options_per_position[1] + 1))
        base_price = float(rng.uniform(5, 200))
        variants = []
        rows = []
        for v in range(k):
            part = f"P{p + 1:03d}-V{v + 1}"
            weight = round(float(rng.uniform(0.05, 2.0)), 3)
            price = round(base_price * float(rng.uniform(0.6, 1.6)) * (1.4 - 0.3 * weight), 2)
            variants.append(Variant(
                part_number=part, manufacturer=f"Maker {chr(65 + v)}", designation=f"Synthetic part {part}",
                attributes=((contract.CO2E_PER_UNIT, round(weight * float(rng.uniform(2, 9)), 3)),
                            (contract.PERFORMANCE, round(float(rng.uniform(1, 10)), 2)),
                            (contract.UNIT_WEIGHT, weight)),
                compliance=("RoHS", "REACH"),
            ))
            supplier = supplier_ids[int(rng.integers(n_suppliers))]
            moq = _pick(rng, (1, 1, 1, 5, 10))
            breaks = (PriceBreak(50.0, round(price * 0.9, 2)),) if rng.random() < 0.3 else ()
            offers[supplier].append(Offer(part, price, "EUR", moq, float(rng.integers(3, 40)), None, breaks))
            rows.append((quantity * weight, max(quantity, moq) * price))
        light_total += min(w for w, _ in rows)
        w_cheap, c_cheap = min(rows, key=lambda r: r[1])
        cheap_weight += w_cheap
        cheap_cost += c_cheap
        positions.append(PositionSpec(f"{(p + 1) * 10:04d}", f"Position {p + 1}", quantity, "C62",
                                      variants=tuple(variants)))
    if with_rules and n_positions >= 2:
        # one incompatibility between the first variants of the first two positions
        first = positions[0]
        v0 = first.variants[0]
        other = positions[1].variants[0].part_number
        positions[0] = PositionSpec(first.position_id, first.designation, first.quantity, first.unit,
                                    variants=(Variant(v0.part_number, v0.manufacturer, v0.designation,
                                                      v0.attributes, v0.compliance,
                                                      incompatible_with=(other,)), *first.variants[1:]))
    max_weight = round(light_total + weight_tightness * max(cheap_weight - light_total, 0.0), 3)
    budget = None if budget_tightness is None else round(cheap_cost * (1 + budget_tightness), 2)
    request = Request(
        product_id=f"urn:aas-quantum:synthetic:{n_positions}:{seed}", currency="EUR",
        max_total_weight_kg=max_weight, budget=budget, weights=ObjectiveWeights(concentration=concentration))
    suppliers = tuple(
        Supplier(s, f"Synthetic Supplier {s}", "DE", round(float(rng.uniform(0, 0.6)), 2), ("ISO 9001",),
                 tuple(offers[s]))
        for s in supplier_ids if offers[s]
    )
    return Catalog(request, tuple(positions), suppliers)


def _pick(rng: np.random.Generator, values: tuple[int, ...]) -> float:
    """``rng.choice(values)`` with the same draw (one ``integers(0, len)``, so seeds give the catalogues they
    always gave) at a fraction of its cost: the generator makes two such draws per position and variant."""
    return float(values[int(rng.integers(0, len(values)))])
