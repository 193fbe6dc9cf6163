"""Semantics of the problem model: prices, pruning and each kind of constraint."""

from __future__ import annotations

from dataclasses import replace

import pytest

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
from aas_quantum.errors import InfeasibleError
from aas_quantum.problem import build_problem, unreachable_limits
from aas_quantum.run import optimize

W = contract.UNIT_WEIGHT


def part(pn: str, kg: float = 1.0, **kw) -> Variant:
    return Variant(pn, attributes=((contract.PERFORMANCE, 1.0), (W, kg)), compliance=("RoHS",), **kw)


def two_positions(**request_kw) -> Catalog:
    positions = (
        PositionSpec("0010", "A", 3, variants=(part("A1", 1.0), part("A2", 2.0))),
        PositionSpec("0020", "B", 1, variants=(part("B1", 1.0), part("B2", 0.5))),
    )
    suppliers = (
        Supplier("S1", "One", offers=(Offer("A1", 10.0, "EUR", 5, 10), Offer("B1", 4.0, "EUR"))),
        Supplier("S2", "Two", risk_score=0.5, offers=(Offer("A2", 8.0, "EUR", 1, 20,
                                                            price_breaks=(PriceBreak(3, 7.0),)),
                                                      Offer("B2", 6.0, "EUR"))),
    )
    return Catalog(Request("p", "EUR", **request_kw), positions, suppliers)


def test_moq_and_price_break_applied_at_position_quantity():
    problem = build_problem(two_positions())
    a1, a2 = problem.positions[0].options
    assert (a1.order_quantity, a1.unit_price, a1.extended_price) == (5, 10.0, 50.0)  # MOQ 5 > need 3
    assert (a2.order_quantity, a2.unit_price, a2.extended_price) == (3, 7.0, 21.0)  # break from 3 on


def test_objective_weights_add_co2_and_risk():
    catalog = two_positions(weights=ObjectiveWeights(cost=1.0, risk=0.5))
    problem = build_problem(catalog)
    a2 = problem.positions[0].options[1]
    assert a2.objective_cost == pytest.approx(21.0 + 0.5 * 0.5 * 21.0)


def test_lead_time_and_compliance_prune_with_notes():
    catalog = two_positions(max_lead_time_days=15, required_compliance=("RoHS",))
    problem = build_problem(catalog)
    assert [o.part_number for o in problem.positions[0].options] == ["A1"]
    assert any("lead time 20" in note for note in problem.pruned)


def test_weight_limit_counts_quantity():
    problem = build_problem(two_positions(max_total_weight_kg=4.0))
    (limit,) = problem.constraints
    x = problem.x_from_choice((0, 1))  # 3 x 1 kg + 1 x 0.5 kg
    assert limit.lhs(x) == pytest.approx(3.5)
    assert not problem.violations(x)
    assert problem.violations(problem.x_from_choice((1, 0)))  # 6 kg + 1 kg


def test_max_positions_per_supplier_and_share():
    problem = build_problem(two_positions(max_positions_per_supplier=1))
    assert problem.violations(problem.x_from_choice((0, 0)))  # both at S1
    assert not problem.violations(problem.x_from_choice((0, 1)))
    share = build_problem(two_positions(max_supplier_share=0.7))
    x = share.x_from_choice((1, 1))  # all spend at S2
    assert {c.name for c, _ in share.violations(x)} == {"MaxSupplierShare[S2]"}


def test_capacity_shared_across_positions():
    positions = (PositionSpec("0010", "A", 3, variants=(part("X"), part("Y"))),
                 PositionSpec("0020", "B", 3, variants=(part("X"), part("Z"))))
    suppliers = (Supplier("S", "S", offers=(Offer("X", 1.0, "EUR", max_quantity=5), Offer("Y", 2.0, "EUR"),
                                            Offer("Z", 2.0, "EUR"))),)
    problem = build_problem(Catalog(Request("p", "EUR"), positions, suppliers))
    assert [c.name for c in problem.constraints] == ["Capacity[S/X]"]
    assert problem.violations(problem.x_from_choice((0, 0)))
    assert not problem.violations(problem.x_from_choice((0, 1)))


def test_incompatible_and_requires():
    positions = (
        PositionSpec("0010", "A", 1, variants=(part("A1", incompatible_with=("B1",)), part("A2", requires=("B2",)))),
        PositionSpec("0020", "B", 1, variants=(part("B1"), part("B2"))),
    )
    suppliers = (Supplier("S", "S", offers=tuple(Offer(p, 1.0, "EUR") for p in ("A1", "A2", "B1", "B2"))),)
    problem = build_problem(Catalog(Request("p", "EUR"), positions, suppliers))
    feasible = {c for c in [(0, 0), (0, 1), (1, 0), (1, 1)] if problem.is_feasible(problem.x_from_choice(c))}
    assert feasible == {(0, 1), (1, 1)}


def test_concentration_is_quadratic_in_positions_per_supplier():
    problem = build_problem(two_positions(weights=ObjectiveWeights(concentration=10.0)))
    same, split = problem.x_from_choice((0, 0)), problem.x_from_choice((0, 1))
    assert problem.objective(same) - problem.cost_vector @ same == pytest.approx(40.0)  # 10 * 2^2
    assert problem.objective(split) - problem.cost_vector @ split == pytest.approx(20.0)  # 10 * (1 + 1)


def test_infeasible_names_the_limit():
    catalog = two_positions(max_total_weight_kg=1.0)
    assert unreachable_limits(build_problem(catalog)) == [
        "MaxTotalWeight <= 1 cannot be met: the lowest achievable value is 3.5"]
    with pytest.raises(InfeasibleError, match="MaxTotalWeight"):
        optimize(build_problem(catalog), "exact")


def test_exchange_rate_converts_prices():
    catalog = two_positions(exchange_rates=(("USD", 0.5),))
    s1 = catalog.suppliers[0]
    usd = replace(s1, offers=(replace(s1.offers[0], currency="USD"), s1.offers[1]))
    problem = build_problem(replace(catalog, suppliers=(usd, catalog.suppliers[1])))
    assert problem.positions[0].options[0].unit_price == pytest.approx(5.0)


@pytest.mark.parametrize(("ids", "designation", "name"), [
    (("urn:example:conveyor-drive:aas",), "", "conveyor-drive"),
    (("https://example.com/ids/conveyor-drive/aas",), "", "conveyor-drive"),
    (("urn:example:conveyor-drive:AAS", "urn:example:other:aas"), "", "conveyor-drive"),
    (("https://example.com/ids/aas/drone/",), "", "drone"),
    (("https://example.com/aas/",), "", "product"),  # a host is no product name
    (("", "urn:example:cabinet:shell"), "", "cabinet"),  # no ProductId given: the next id
    (("urn:example:cabinet:RobotCell-RC7", "urn:example:control-cabinet:aas"), "", "RobotCell-RC7"),
    (("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", "urn:example:drone:asset"), "", "drone"),
    (("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",), "Belt conveyor drive", "Belt conveyor drive"),
    (("urn:uuid:1B4E28BA-2FA1-11D2-883F-0016D3CCA427",), "", "product-1b4e28ba"),
])
def test_a_product_name_skips_what_names_no_product(ids, designation, name):
    from aas_quantum.problem import product_name

    assert product_name(*ids, designation=designation) == name
