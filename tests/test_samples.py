"""The bundled samples have the promised shape, read identically every time, and regenerate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aas_quantum.problem import build_problem
from aas_quantum.synthetic import _pick, synthetic_catalog

import generate
from tests.support import LARGE, MEDIUM, SMALL, write_catalog


def test_small_sample_fits_direct_qaoa(load):
    catalog = load(SMALL).catalog
    problem = build_problem(catalog)
    assert len(problem.positions) == 6
    assert all(2 <= len(p.options) <= 3 for p in problem.positions)
    assert problem.n_options <= 20
    assert len(catalog.suppliers) >= 3


def test_medium_sample_shape(load):
    catalog = load(MEDIUM).catalog
    problem = build_problem(catalog)
    assert len(problem.positions) == 15
    assert all(3 <= len(p.options) <= 6 for p in problem.positions)
    assert len(catalog.suppliers) >= 5


def test_large_sample_shape(load):
    catalog = load(LARGE).catalog
    problem = build_problem(catalog)
    assert len(problem.positions) >= 60
    assert all(4 <= len(p.options) <= 10 for p in problem.positions)
    assert len(catalog.suppliers) >= 10


@pytest.mark.parametrize("path", [SMALL, MEDIUM, LARGE], ids=lambda p: p.stem)
def test_sample_is_realistic(load, path: Path):
    catalog = load(path).catalog
    problem = build_problem(catalog)
    kinds = {c.kind for c in problem.constraints}
    assert "incompatible" in kinds
    offers = [o for s in catalog.suppliers for o in s.offers]
    assert any(o.price_breaks for o in offers), "no price breaks"
    assert any(o.min_order_quantity > 1 for o in offers), "no MOQ above 1"
    assert all(o.lead_time_days > 0 and o.unit_price > 0 for o in offers)
    assert all(v.attribute("urn:aas-quantum:concept:UnitWeight:1:0") for p in catalog.positions for v in p.variants)
    assert all(v.attribute("urn:aas-quantum:concept:CO2ePerUnit:1:0") for p in catalog.positions for v in p.variants)


@pytest.mark.parametrize("slug", sorted(generate.SAMPLES))
def test_committed_sample_matches_generator(load, slug: str, tmp_path: Path):
    fresh = tmp_path / f"{slug}.aasx"
    generate.write_sample(generate.sample(slug), fresh, slug)
    assert load(fresh).catalog == load(generate.HERE / f"{slug}.aasx").catalog


def test_synthetic_generator_is_reproducible(load, tmp_path: Path):
    a = write_catalog(synthetic_catalog(30, seed=4), tmp_path / "a.aasx")
    b = write_catalog(synthetic_catalog(30, seed=4), tmp_path / "b.aasx")
    c = write_catalog(synthetic_catalog(30, seed=5), tmp_path / "c.aasx")
    assert build_problem(load(a).catalog) == build_problem(load(b).catalog)
    assert build_problem(load(a).catalog) != build_problem(load(c).catalog)
    assert len(build_problem(load(a).catalog).positions) == 30


def test_the_generator_draws_as_numpy_choice_does_so_seeds_keep_their_catalogues() -> None:
    ours, numpys = np.random.default_rng(11), np.random.default_rng(11)
    values = (1, 1, 2, 4, 10)
    for _ in range(500):
        assert _pick(ours, values) == float(numpys.choice(values))
        assert ours.random() == numpys.random()  # and leaves the stream where choice leaves it


def test_round_trip_through_aas_preserves_catalog(load, tmp_path: Path):
    catalog = synthetic_catalog(8, seed=1)
    read = load(write_catalog(catalog, tmp_path / "s.aasx")).catalog
    assert [p.variants for p in read.positions] == [p.variants for p in catalog.positions]
    assert [(p.position_id, p.quantity) for p in read.positions] == [(p.position_id, p.quantity)
                                                                      for p in catalog.positions]
    assert [s.offers for s in read.suppliers] == [s.offers for s in catalog.suppliers]
    assert read.request.max_total_weight_kg == catalog.request.max_total_weight_kg
