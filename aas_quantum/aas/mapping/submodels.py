"""One contract submodel (ComponentVariants, SupplierOffers, BomOptimizationRequest) into its catalogue record,
on its own: how submodels combine into a product is ``product``'s job."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from basyx.aas import model

from aas_quantum import contract, solvers
from aas_quantum.aas import schema as sc
from aas_quantum.aas.mapping.nodes import Node, field_named, finite, root, version_of
from aas_quantum.catalog import (
    ObjectiveWeights,
    Offer,
    PositionSpec,
    PriceBreak,
    Request,
    ResourceLimitSpec,
    SolverPreferences,
    Supplier,
    Variant,
)
from aas_quantum.errors import BomInputError, ConfigError, Location


def read_variant(node: Node) -> Variant:
    f = sc.VARIANT
    attributes: dict[str, float] = {}
    for name in ("UnitWeight", "Performance", "CO2ePerUnit"):
        value = node.value(f.child(name))
        if value is not None:
            attributes[contract.concept(name)] = value
    if attributes.get(contract.UNIT_WEIGHT, 0.0) < 0:  # CO2e may be negative (credits); a mass may not
        raise BomInputError(f"UnitWeight must not be negative, got {attributes[contract.UNIT_WEIGHT]}",
                            node.location.child("UnitWeight"))
    extra = node.collection(f.child("Attributes"))
    for key, element in (extra.by_semantic.items() if extra else ()):
        if extra is None or not isinstance(element, model.Property) or element.value is None:
            continue
        loc = extra.location.child(element.id_short or key)
        if isinstance(element.value, bool) or not isinstance(element.value, int | float | Decimal):
            raise BomInputError(f"attribute {key} must be numeric, got {element.value!r}", loc)
        attributes.setdefault(key, finite(element.value, f"attribute {key}", loc))
    if contract.UNIT_WEIGHT not in attributes:  # IDTA Technical Data / ECLASS weight as fallback
        for key, value in list(attributes.items()):
            if key.startswith(contract.ECLASS_WEIGHT_PREFIX):
                attributes[contract.UNIT_WEIGHT] = value
    return Variant(
        part_number=node.value(f.child("PartNumber")),
        manufacturer=node.value(f.child("Manufacturer")) or "",
        designation=node.value(f.child("ManufacturerProductDesignation")) or "",
        attributes=tuple(sorted(attributes.items())),
        compliance=node.strings(f.child("Compliance")),
        asset_id=node.value(f.child("AssetId")) or "",
        incompatible_with=node.strings(f.child("IncompatibleWith")),
        requires=node.strings(f.child("Requires")),
        location=node.location,
    )


def read_position(submodel: model.Submodel, source: str) -> PositionSpec:
    node, t = root(submodel, source), sc.COMPONENT_VARIANTS
    variants = tuple(read_variant(v) for v in node.collections(field_named(t, "Variants")))
    if not variants:
        raise BomInputError("the position lists no Variants", node.location.child("Variants"))
    return PositionSpec(
        position_id=node.value(field_named(t, "PositionId")),
        designation=node.value(field_named(t, "Designation")),
        quantity=node.value(field_named(t, "Quantity")),
        unit=node.value(field_named(t, "Unit")) or "C62",
        min_performance=node.value(field_named(t, "MinPerformance")),
        variants=variants,
        submodel_id=submodel.id,
        submodel_version=version_of(submodel),
        location=node.location,
    )


def read_offer(node: Node) -> Offer:
    f = sc.OFFER
    breaks = tuple(
        PriceBreak(b.value(sc.PRICE_BREAK.child("MinQuantity")), b.value(sc.PRICE_BREAK.child("UnitPrice")))
        for b in node.collections(f.child("PriceBreaks"))
    )
    moq = node.value(f.child("MinOrderQuantity"))
    return Offer(
        part_number=node.value(f.child("PartNumber")),
        unit_price=node.value(f.child("UnitPrice")),
        currency=node.value(f.child("Currency")),
        min_order_quantity=1.0 if moq is None else moq,
        lead_time_days=node.value(f.child("LeadTimeDays")),
        max_quantity=node.value(f.child("MaxQuantity")),
        price_breaks=breaks,
        location=node.location,
    )


def read_supplier(submodel: model.Submodel, source: str) -> Supplier:
    node, t = root(submodel, source), sc.SUPPLIER_OFFERS
    return Supplier(
        supplier_id=node.value(field_named(t, "SupplierId")),
        name=node.value(field_named(t, "Name")),
        country=node.value(field_named(t, "Country")) or "",
        risk_score=node.value(field_named(t, "RiskScore")) or 0.0,
        certifications=node.strings(field_named(t, "Certifications")),
        offers=tuple(read_offer(o) for o in node.collections(field_named(t, "Offers"))),
        submodel_id=submodel.id,
        submodel_version=version_of(submodel),
        location=node.location,
    )


def read_request(submodel: model.Submodel, source: str, product_id: str) -> Request:
    node, t = root(submodel, source), sc.OPTIMIZATION_REQUEST

    def v(name: str) -> Any:
        return node.value(field_named(t, name))

    weights_f, solver_f = field_named(t, "ObjectiveWeights"), field_named(t, "SolverPreferences")
    weights_node, solver_node = node.collection(weights_f), node.collection(solver_f)
    defaults_w = ObjectiveWeights()

    def w(name: str, default: float) -> float:
        value = weights_node.value(weights_f.child(name)) if weights_node else None
        return default if value is None else value

    def s(name: str, option: str) -> Any:  # None when unset: the solver defaults apply
        value = solver_node.value(solver_f.child(name)) if solver_node else None
        if solver_node is not None and value is not None:
            _check_preference(option, value, solver_node.location.child(name))
        return value

    rl = sc.RESOURCE_LIMIT
    return Request(
        product_id=v("ProductId") or product_id,
        currency=v("Currency"),
        max_total_weight_kg=v("MaxTotalWeight"),
        min_total_performance=v("MinTotalPerformance"),
        max_lead_time_days=v("MaxLeadTimeDays"),
        budget=v("Budget"),
        lot_size=1.0 if v("LotSize") is None else v("LotSize"),
        max_total_co2e_kg=v("MaxTotalCO2e"),
        resource_limits=tuple(
            ResourceLimitSpec(r.value(rl.child("Name")), r.value(rl.child("Attribute")),
                              r.value(rl.child("Sense")), r.value(rl.child("Bound")))
            for r in node.collections(field_named(t, "ResourceLimits"))
        ),
        required_compliance=node.strings(field_named(t, "RequiredCompliance")),
        max_positions_per_supplier=v("MaxPositionsPerSupplier"),
        max_supplier_share=v("MaxSupplierShare"),
        weights=ObjectiveWeights(
            cost=w("Cost", defaults_w.cost), co2_price_per_kg=w("CO2Price", defaults_w.co2_price_per_kg),
            risk=w("Risk", defaults_w.risk), concentration=w("Concentration", defaults_w.concentration),
        ),
        exchange_rates=tuple(
            (r.value(sc.EXCHANGE_RATE.child("Currency")), r.value(sc.EXCHANGE_RATE.child("Rate")))
            for r in node.collections(field_named(t, "ExchangeRates"))
        ),
        solver=SolverPreferences(
            method=s("Method", "method"), reps=s("Reps", "reps"), shots=s("Shots", "shots"),
            qubit_budget=s("QubitBudget", "qubit_budget"), time_limit_s=s("TimeLimitSeconds", "time_limit_s"),
            seed=s("Seed", "seed"),
        ),
        submodel_id=submodel.id,
        submodel_version=version_of(submodel),
        location=node.location,
    )


def _check_preference(option: str, value: Any, at: Location) -> None:
    """A SolverPreferences value the solvers would refuse is an input error at its element, found when
    reading, so validate reports it too (the run refused it naming neither file nor submodel)."""
    try:
        if option == "method":
            solvers.spec(value)
        else:
            solvers.check_value(option, value, at.path.rsplit(".", 1)[-1])
    except ConfigError as exc:
        raise BomInputError(str(exc), at) from None
