"""The BoM selection problem: options (position x variant x supplier offer), constraints, objective.

One binary decision per option; exactly one option per position. Every rule of the request
(limits, budget, supplier rules, incompatible / requires) becomes one ``LinearConstraint`` over the
option indices, so the MILP, the QUBO encodings, the heuristics and the constraint report all
read the same list. The only non-linear term is the supplier-concentration penalty
``concentration_weight * sum_s n_s**2`` (n_s = positions served by supplier s).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import urlsplit

import numpy as np

from aas_quantum import contract
from aas_quantum.catalog import Catalog, Offer, PositionSpec, Request, SourceSubmodel, Supplier, Variant
from aas_quantum.errors import BomInputError, Location

# ISO 4217 active codes (2024); unknown codes are rejected rather than guessed.
ISO_4217 = frozenset(
    [
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
        "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
        "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
        "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK",
        "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
        "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN",
        "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
        "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC",
        "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
        "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
    ]
)

LE = "<="
GE = ">="

# The largest magnitude a cost, limit coefficient or weight may reach once quantities, prices and the lot
# size are multiplied: HiGHS refuses matrix values above 1e15 and reads costs from 1e20 as infinite, so a
# finite but huge input (a UnitPrice of 1e300) ended as "no solution" or as numpy's words about non-finite
# numbers. Such an input is an error at the element it came from.
LARGEST = 1e15


def _computable(value: float, what: str, where: Location) -> None:
    if not abs(value) <= LARGEST:  # also false for NaN and infinity (overflow)
        raise BomInputError(f"{what} is {value:g}, beyond the {LARGEST:g} the solvers compute with", where)


@dataclass(frozen=True)
class Option:
    """One decision variable: buy ``variant`` for ``position_id`` under ``offer`` of ``supplier_id``.

    Prices are in the request currency, with MOQ and price breaks applied at the position quantity.
    """

    index: int
    position_id: str
    variant: Variant
    supplier_id: str
    offer: Offer
    quantity: float
    order_quantity: float
    unit_price: float
    extended_price: float
    lead_time_days: float
    risk_score: float
    objective_cost: float

    @property
    def part_number(self) -> str:
        return self.variant.part_number

    def per_position(self, attribute: str) -> float:
        """quantity * per-unit attribute (0 where the variant does not state it)."""
        value = self.variant.attribute(attribute)
        return 0.0 if value is None else self.quantity * value


# trailing id segments that say what kind of object the id names, not which product it is
GENERIC_ID_SEGMENTS = frozenset({"aas", "shell", "asset", "product", "ids", "id", "sm", "submodel", "urn", "uuid"})
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def product_name(*ids: str, designation: str = "") -> str:
    """The one short name of a product (ERP material / item number, output file names, batch reports):
    the meaningful segment of the first of ``ids`` that has one, in the caller's order of preference.

    Ids end alike (``...:drone:aas``, ``.../drone/aas``, ``.../drone/``, ``...:shell``), so the last
    segment is often the kind of object, not the product: empty and generic trailing segments are
    skipped, and a URL's host is never a name. A UUID names no product for people: the next id is
    tried, then ``designation``, and only then ``product-<the UUID's first 8 hex digits>``.
    """
    uuid = ""
    for identifier in ids:
        text = identifier.strip()
        if "://" in text:  # a URL: its path and fragment, not its scheme and host
            parts = urlsplit(text)
            text = f"{parts.path}/{parts.fragment}"
        for segment in reversed(re.split(r"[:/#]", text)):
            segment = segment.strip()
            if not segment or segment.lower() in GENERIC_ID_SEGMENTS:
                continue
            if _UUID.fullmatch(segment):
                uuid = uuid or segment
                break
            return segment
    if designation.strip():
        return designation.strip()
    return f"product-{uuid[:8].lower()}" if uuid else "product"


@dataclass(frozen=True)
class Position:
    position_id: str
    designation: str
    quantity: float
    unit: str
    options: tuple[Option, ...]
    submodel_id: str = ""


@dataclass(frozen=True)
class LinearConstraint:
    """sum(coef * x[index]) <sense> rhs. ``kind`` groups constraints for reports and encodings."""

    name: str
    kind: str
    coefficients: tuple[tuple[int, float], ...]
    sense: str
    rhs: float

    def lhs(self, x: np.ndarray) -> float:
        return float(sum(coef * x[i] for i, coef in self.coefficients))

    def violation(self, x: np.ndarray) -> float:
        """How far x is outside the constraint (0 when satisfied)."""
        value = self.lhs(x)
        return max(0.0, value - self.rhs) if self.sense == LE else max(0.0, self.rhs - value)

    def slack(self, x: np.ndarray) -> float:
        value = self.lhs(x)
        return self.rhs - value if self.sense == LE else value - self.rhs


@dataclass(frozen=True)
class BomProblem:
    product_id: str
    currency: str
    positions: tuple[Position, ...]
    constraints: tuple[LinearConstraint, ...]
    concentration_weight: float = 0.0
    request: Request | None = field(default=None, compare=False)
    inputs: tuple[SourceSubmodel, ...] = ()
    pruned: tuple[str, ...] = ()
    designation: str = ""  # the product's name for people and ERP descriptions ("" when the inputs give none)
    name: str = ""  # its short name (``product_name``); "" here: derived from ``product_id``

    def __post_init__(self) -> None:
        if not self.name:  # a problem built by hand (tests, a solver's sub-problem) still has a name
            object.__setattr__(self, "name", product_name(self.product_id, designation=self.designation))

    @cached_property
    def options(self) -> tuple[Option, ...]:
        return tuple(o for p in self.positions for o in p.options)

    @property
    def n_options(self) -> int:
        return len(self.options)

    @cached_property
    def cost_vector(self) -> np.ndarray:
        return np.array([o.objective_cost for o in self.options], dtype=float)

    @cached_property
    def position_slices(self) -> tuple[slice, ...]:
        """Option index range of each position (options are numbered position by position)."""
        slices, start = [], 0
        for p in self.positions:
            slices.append(slice(start, start + len(p.options)))
            start += len(p.options)
        return tuple(slices)

    @cached_property
    def position_starts(self) -> np.ndarray:
        """Index of each position's first option: ``position_starts + choice`` are the chosen options."""
        return np.array([sl.start for sl in self.position_slices], dtype=np.int64)

    @cached_property
    def position_sizes(self) -> np.ndarray:
        return np.array([sl.stop - sl.start for sl in self.position_slices], dtype=np.int64)

    @cached_property
    def option_position(self) -> np.ndarray:
        """Position number of each option (for the vectorised solvers)."""
        return np.repeat(np.arange(len(self.positions)), self.position_sizes)

    @cached_property
    def option_supplier(self) -> np.ndarray:
        """Each option's supplier, numbered in ``supplier_groups`` order."""
        numbers = np.empty(self.n_options, dtype=np.int64)
        for s, idx in enumerate(self.supplier_groups.values()):
            numbers[list(idx)] = s
        return numbers

    @cached_property
    def supplier_groups(self) -> dict[str, tuple[int, ...]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for o in self.options:
            groups[o.supplier_id].append(o.index)
        return {s: tuple(idx) for s, idx in groups.items()}

    def x_from_choice(self, choice: Sequence[int]) -> np.ndarray:
        """Binary vector from the chosen option number within each position."""
        if len(choice) != len(self.positions):
            raise ValueError(f"choice has {len(choice)} entries for {len(self.positions)} positions")
        x = np.zeros(self.n_options)
        for sl, c in zip(self.position_slices, choice, strict=True):
            x[sl.start + int(c)] = 1.0
        return x

    def choice_from_x(self, x: np.ndarray) -> tuple[int, ...] | None:
        """Inverse of ``x_from_choice``; None where a position does not have exactly one option."""
        choice = []
        for sl in self.position_slices:
            ones = np.flatnonzero(np.asarray(x[sl]) > 0.5)
            if len(ones) != 1:
                return None
            choice.append(int(ones[0]))
        return tuple(choice)

    def objective(self, x: np.ndarray) -> float:
        value = float(self.cost_vector @ x)
        if self.concentration_weight:
            value += self.concentration_weight * sum(
                float(np.sum(x[list(idx)])) ** 2 for idx in self.supplier_groups.values()
            )
        return value

    def violations(self, x: np.ndarray) -> list[tuple[LinearConstraint, float]]:
        return [(c, v) for c in self.constraints if (v := c.violation(x)) > 1e-9]

    def is_feasible(self, x: np.ndarray) -> bool:
        """One option per position and every constraint within 1e-9 (the same test as ``violations``)."""
        a, b = self.le_form
        return self.choice_from_x(x) is not None and bool(np.all(a @ x <= b + 1e-9))

    @cached_property
    def le_form(self) -> tuple[np.ndarray, np.ndarray]:
        """All constraints as dense ``A @ x <= b`` (>= rows negated), for vectorised solvers."""
        a = np.zeros((len(self.constraints), self.n_options))
        b = np.zeros(len(self.constraints))
        for row, c in enumerate(self.constraints):
            sign = 1.0 if c.sense == LE else -1.0
            for i, coef in c.coefficients:
                a[row, i] += sign * coef
            b[row] = sign * c.rhs
        return a, b


# ---------------------------------------------------------------------------------------------
# Building the problem from the catalogue
# ---------------------------------------------------------------------------------------------


def build_problem(catalog: Catalog) -> BomProblem:
    """Join variants with offers, apply MOQ / price breaks / pruning, and derive every constraint.

    Raises ``BomInputError`` naming the element for anything that would otherwise be guessed.
    """
    _check_request(catalog.request)
    catalog = for_lot(catalog)
    request = catalog.request
    _check_unique(catalog)
    rates = _exchange_rates(request)
    offers_by_part = _offers_by_part(catalog.suppliers, request, rates)
    suppliers = {s.supplier_id: s for s in catalog.suppliers}

    positions: list[Position] = []
    pruned: list[str] = []
    next_index = 0
    for spec in catalog.positions:
        options, notes = _position_options(spec, request, offers_by_part, suppliers, rates, next_index)
        pruned.extend(notes)
        if not options:
            raise BomInputError(
                f"position {spec.position_id!r} has no admissible option after pruning: " + "; ".join(notes),
                spec.location,
            )
        next_index += len(options)
        positions.append(
            Position(spec.position_id, spec.designation, spec.quantity, spec.unit, tuple(options),
                     spec.submodel_id)
        )

    problem_positions = tuple(positions)
    all_options = [o for p in problem_positions for o in p.options]
    constraints = (
        _resource_constraints(request, all_options)
        + _supplier_constraints(request, all_options)
        + _rule_constraints(problem_positions, catalog)
    )
    templates = {s.submodel_id for s in catalog.sources}  # positions read from an IDTA BoM name it once
    inputs = tuple(
        [SourceSubmodel(request.submodel_id, contract.OPTIMIZATION_REQUEST, request.submodel_version)]
        + [SourceSubmodel(p.submodel_id, contract.COMPONENT_VARIANTS, p.submodel_version)
           for p in catalog.positions if p.submodel_id not in templates]
        + list(catalog.sources)
        + [SourceSubmodel(s.submodel_id, contract.SUPPLIER_OFFERS, s.submodel_version) for s in catalog.suppliers]
    )
    return BomProblem(
        product_id=request.product_id,
        currency=request.currency,
        positions=problem_positions,
        constraints=tuple(constraints),
        concentration_weight=request.weights.concentration,
        request=request,
        inputs=inputs,
        pruned=tuple(pruned),
        designation=catalog.product_designation,
        name=catalog.product_name,
    )


def for_lot(catalog: Catalog) -> Catalog:
    """The catalogue of one purchase for ``request.lot_size`` products: every position's quantity and
    every per-product limit (weight, performance, CO2e, budget, resource limits) times the lot size.

    Each product still meets its limits, while minimum order quantities and price breaks apply to
    the lot's order; lead times, supplier caps and shares do not depend on the lot.
    """
    request, n = catalog.request, catalog.request.lot_size
    if n == 1:
        return catalog

    def scaled(value: float | None) -> float | None:
        return None if value is None else value * n
    request = replace(
        request, max_total_weight_kg=scaled(request.max_total_weight_kg),
        min_total_performance=scaled(request.min_total_performance),
        max_total_co2e_kg=scaled(request.max_total_co2e_kg), budget=scaled(request.budget),
        resource_limits=tuple(replace(limit, bound=limit.bound * n) for limit in request.resource_limits))
    return replace(catalog, request=request,
                   positions=tuple(replace(spec, quantity=spec.quantity * n) for spec in catalog.positions))


# The request's numbers with a sign rule, by field: the element of the request submodel that states it,
# and what it must be. A file's request submodel and a run's overrides (a job, a scenario) are held to
# these same rules; a CO2e limit may be negative (credits), so it need only be finite.
REQUEST_NUMBERS: dict[str, tuple[str, str]] = {
    "lot_size": ("LotSize", "positive"),
    "budget": ("Budget", "non-negative"),
    "max_total_weight_kg": ("MaxTotalWeight", "non-negative"),
    "max_lead_time_days": ("MaxLeadTimeDays", "non-negative"),
    "max_positions_per_supplier": ("MaxPositionsPerSupplier", "non-negative"),
    "max_total_co2e_kg": ("MaxTotalCO2e", "finite")}
# ObjectiveWeights fields: a negative weight turns minimising into maximising that term (a negative Cost
# weight bought the dearest selection and called it optimal)
WEIGHT_NUMBERS: dict[str, tuple[str, str]] = {
    "cost": ("ObjectiveWeights.Cost", "non-negative"),
    "co2_price_per_kg": ("ObjectiveWeights.CO2Price", "non-negative"),
    "risk": ("ObjectiveWeights.Risk", "non-negative"),
    "concentration": ("ObjectiveWeights.Concentration", "non-negative")}


def number_fault(value: float, rule: str) -> str | None:
    """What ``value`` should be and is not under ``rule`` (positive, non-negative, finite), or None."""
    if not math.isfinite(value):
        return "a finite number"
    if (rule == "positive" and value <= 0) or (rule == "non-negative" and value < 0):
        return f"a {rule} number"
    return None


def _check_request(request: Request) -> None:
    loc = request.location
    numbers = [(REQUEST_NUMBERS[name], getattr(request, name)) for name in REQUEST_NUMBERS] + \
        [(WEIGHT_NUMBERS[name], getattr(request.weights, name)) for name in WEIGHT_NUMBERS]
    for (element, rule), value in numbers:
        if value is not None and (fault := number_fault(value, rule)):
            raise BomInputError(f"{element.rpartition('.')[2]} must be {fault}, got {value:g}", loc.child(element))
    weights = request.weights
    _computable(weights.concentration, "Concentration", loc.child("ObjectiveWeights.Concentration"))
    if request.currency not in ISO_4217:
        raise BomInputError(f"unknown currency {request.currency!r} (not an ISO 4217 code)", loc.child("Currency"))
    if request.max_supplier_share is not None and not 0 < request.max_supplier_share <= 1:
        raise BomInputError(
            f"MaxSupplierShare must be in (0, 1], got {request.max_supplier_share}", loc.child("MaxSupplierShare")
        )
    for limit in request.resource_limits:
        if limit.sense not in (LE, GE):
            raise BomInputError(f"resource limit {limit.name!r}: Sense must be '<=' or '>=', got {limit.sense!r}",
                                loc.child("ResourceLimits"))


def _check_unique(catalog: Catalog) -> None:
    seen: dict[str, Location] = {}
    for spec in catalog.positions:
        if spec.position_id in seen:
            raise BomInputError(
                f"duplicate PositionId {spec.position_id!r} (also in {seen[spec.position_id]})", spec.location
            )
        seen[spec.position_id] = spec.location
        parts: set[str] = set()
        for variant in spec.variants:
            if variant.part_number in parts:
                raise BomInputError(f"duplicate PartNumber {variant.part_number!r} in position "
                                    f"{spec.position_id!r}", variant.location)
            parts.add(variant.part_number)
    suppliers: dict[str, Location] = {}
    for supplier in catalog.suppliers:
        if supplier.supplier_id in suppliers:
            raise BomInputError(
                f"duplicate SupplierId {supplier.supplier_id!r} (also in {suppliers[supplier.supplier_id]})",
                supplier.location,
            )
        suppliers[supplier.supplier_id] = supplier.location
        offered: set[str] = set()
        for offer in supplier.offers:
            if offer.part_number in offered:
                raise BomInputError(
                    f"supplier {supplier.supplier_id!r} offers PartNumber {offer.part_number!r} twice",
                    offer.location,
                )
            offered.add(offer.part_number)


def _exchange_rates(request: Request) -> dict[str, float]:
    rates = {request.currency: 1.0}
    for currency, rate in request.exchange_rates:
        if currency not in ISO_4217:
            raise BomInputError(f"unknown currency {currency!r} in ExchangeRates", request.location)
        if not rate > 0:
            raise BomInputError(f"exchange rate for {currency} must be positive, got {rate}", request.location)
        rates[currency] = rate
    return rates


def _offers_by_part(
    suppliers: Iterable[Supplier], request: Request, rates: dict[str, float]
) -> dict[str, list[tuple[Supplier, Offer]]]:
    by_part: dict[str, list[tuple[Supplier, Offer]]] = defaultdict(list)
    for supplier in suppliers:
        check_supplier(supplier)
        for offer in supplier.offers:
            if offer.currency not in rates:
                raise BomInputError(
                    f"price in {offer.currency} but the request is in {request.currency} and gives no exchange "
                    f"rate for {offer.currency} (add it to ExchangeRates)",
                    offer.location.child("Currency"),
                )
            by_part[offer.part_number].append((supplier, offer))
    return by_part


def check_supplier(supplier: Supplier) -> None:
    """The rules a supplier's offers obey whatever product buys from them, so a supplier can check
    their own file before any product (and its request's currency) is known."""
    if not 0.0 <= supplier.risk_score <= 1.0:
        raise BomInputError(f"RiskScore must be within 0..1, got {supplier.risk_score}",
                            supplier.location.child("RiskScore"))
    for offer in supplier.offers:
        _check_offer(offer)


def _check_offer(offer: Offer) -> None:
    loc = offer.location
    if offer.currency not in ISO_4217:
        raise BomInputError(f"unknown currency {offer.currency!r} (not an ISO 4217 code)", loc.child("Currency"))
    prices = [offer.unit_price] + [b.unit_price for b in offer.price_breaks]
    if any(not math.isfinite(p) or p < 0 for p in prices):
        raise BomInputError(f"negative or non-finite UnitPrice in offer for {offer.part_number!r}",
                            loc.child("UnitPrice"))
    if offer.min_order_quantity < 0 or offer.lead_time_days < 0:
        raise BomInputError(f"negative MinOrderQuantity or LeadTimeDays in offer for {offer.part_number!r}", loc)
    if offer.max_quantity is not None and offer.max_quantity < 0:
        raise BomInputError(f"negative MaxQuantity in offer for {offer.part_number!r}", loc.child("MaxQuantity"))


def check_position(spec: PositionSpec) -> None:
    """The rules a position obeys whatever request it is bought under (a component file is checked alone)."""
    if not spec.quantity > 0:
        raise BomInputError(f"Quantity must be positive, got {spec.quantity}", spec.location.child("Quantity"))


def _position_options(
    spec: PositionSpec,
    request: Request,
    offers_by_part: dict[str, list[tuple[Supplier, Offer]]],
    suppliers: dict[str, Supplier],
    rates: dict[str, float],
    first_index: int,
) -> tuple[list[Option], list[str]]:
    check_position(spec)
    options: list[Option] = []
    notes: list[str] = []
    weights = request.weights
    for variant in spec.variants:
        offers = offers_by_part.get(variant.part_number, [])
        if not offers:
            raise BomInputError(f"PartNumber {variant.part_number!r} is offered by no supplier in scope",
                                variant.location.child("PartNumber"))
        reason = _variant_pruning(spec, variant, request)
        if reason:
            notes.append(f"{spec.position_id}/{variant.part_number}: {reason}")
            continue
        for supplier, offer in offers:
            if request.max_lead_time_days is not None and offer.lead_time_days > request.max_lead_time_days:
                notes.append(f"{spec.position_id}/{variant.part_number}@{supplier.supplier_id}: lead time "
                             f"{offer.lead_time_days:g} d > MaxLeadTimeDays {request.max_lead_time_days:g}")
                continue
            if offer.max_quantity is not None and spec.quantity > offer.max_quantity:
                notes.append(f"{spec.position_id}/{variant.part_number}@{supplier.supplier_id}: quantity "
                             f"{spec.quantity:g} > supplier capacity {offer.max_quantity:g}")
                continue
            order_quantity = max(spec.quantity, offer.min_order_quantity)
            unit_price = offer.unit_price_at(order_quantity) * rates[offer.currency]
            extended = order_quantity * unit_price
            co2 = spec.quantity * (variant.attribute(contract.CO2E_PER_UNIT) or 0.0)
            _computable(extended, f"the order of {order_quantity:g} x {variant.part_number!r} (position "
                                  f"{spec.position_id!r}) at {unit_price:g} {request.currency}",
                        offer.location.child("UnitPrice"))
            cost = (weights.cost * extended + weights.co2_price_per_kg * co2
                    + weights.risk * suppliers[supplier.supplier_id].risk_score * extended)
            _computable(cost, f"the weighted cost of {variant.part_number!r} from {supplier.supplier_id!r} in "
                              f"position {spec.position_id!r}", request.location.child("ObjectiveWeights"))
            options.append(Option(
                index=first_index + len(options), position_id=spec.position_id, variant=variant,
                supplier_id=supplier.supplier_id, offer=offer, quantity=spec.quantity,
                order_quantity=order_quantity, unit_price=unit_price, extended_price=extended,
                lead_time_days=offer.lead_time_days, risk_score=supplier.risk_score, objective_cost=cost,
            ))
    return options, notes


def _variant_pruning(spec: PositionSpec, variant: Variant, request: Request) -> str:
    missing = [flag for flag in request.required_compliance if flag not in variant.compliance]
    if missing:
        return "lacks required compliance " + ", ".join(missing)
    if spec.min_performance is not None:
        performance = variant.attribute(contract.PERFORMANCE)
        if performance is None:
            raise BomInputError("position sets MinPerformance but the variant has no Performance",
                                variant.location.child("Performance"))
        if performance < spec.min_performance:
            return f"performance {performance:g} < MinPerformance {spec.min_performance:g}"
    return ""


def _resource_constraints(request: Request, options: list[Option]) -> list[LinearConstraint]:
    limits = [
        ("MaxTotalWeight", contract.UNIT_WEIGHT, LE, request.max_total_weight_kg),
        ("MinTotalPerformance", contract.PERFORMANCE, GE, request.min_total_performance),
        ("MaxTotalCO2e", contract.CO2E_PER_UNIT, LE, request.max_total_co2e_kg),
    ] + [(lim.name, lim.attribute, lim.sense, lim.bound) for lim in request.resource_limits]
    constraints = []
    for name, attribute, sense, bound in limits:
        if bound is None:
            continue
        missing = [o for o in options if o.variant.attribute(attribute) is None]
        if missing:
            raise BomInputError(f"limit {name} needs attribute {attribute} but the variant does not state it",
                                missing[0].variant.location)
        coefficients = tuple((o.index, o.per_position(attribute)) for o in options)
        for o, (_, value) in zip(options, coefficients, strict=True):
            _computable(value, f"{name}: {o.quantity:g} x {o.part_number!r}'s {attribute}", o.variant.location)
        constraints.append(LinearConstraint(name, "resource", coefficients, sense, float(bound)))
    if request.budget is not None:
        constraints.append(LinearConstraint(
            "Budget", "budget", tuple((o.index, o.extended_price) for o in options), LE, float(request.budget)))
    return constraints


def _supplier_constraints(request: Request, options: list[Option]) -> list[LinearConstraint]:
    constraints: list[LinearConstraint] = []
    by_supplier: dict[str, list[Option]] = defaultdict(list)
    by_offer: dict[tuple[str, str], list[Option]] = defaultdict(list)
    for o in options:
        by_supplier[o.supplier_id].append(o)
        by_offer[(o.supplier_id, o.part_number)].append(o)
    for supplier_id, group in sorted(by_supplier.items()):
        if request.max_positions_per_supplier is not None:
            constraints.append(LinearConstraint(
                f"MaxPositionsPerSupplier[{supplier_id}]", "supplier_positions",
                tuple((o.index, 1.0) for o in group), LE, float(request.max_positions_per_supplier)))
        if request.max_supplier_share is not None and request.max_supplier_share < 1:
            share = request.max_supplier_share
            constraints.append(LinearConstraint(
                f"MaxSupplierShare[{supplier_id}]", "supplier_share",
                tuple((o.index, ((1.0 if o.supplier_id == supplier_id else 0.0) - share) * o.extended_price)
                      for o in options),
                LE, 0.0))
    for (supplier_id, part), group in sorted(by_offer.items()):
        capacity = group[0].offer.max_quantity
        if capacity is not None and len({o.position_id for o in group}) > 1:
            constraints.append(LinearConstraint(
                f"Capacity[{supplier_id}/{part}]", "capacity",
                tuple((o.index, o.quantity) for o in group), LE, float(capacity)))
    return constraints


def _rule_constraints(positions: tuple[Position, ...], catalog: Catalog) -> list[LinearConstraint]:
    """Incompatible pairs and requires rules between positions."""
    by_part: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for p in positions:
        for o in p.options:
            by_part[o.part_number][p.position_id].append(o.index)
    known_parts = {v.part_number for spec in catalog.positions for v in spec.variants}
    constraints: list[LinearConstraint] = []
    seen_pairs: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    for p in positions:
        for variant in {o.variant.part_number: o.variant for o in p.options}.values():
            a_idx = by_part[variant.part_number][p.position_id]
            for other in variant.incompatible_with:
                for q_id, b_idx in by_part.get(other, {}).items():
                    if q_id == p.position_id:
                        continue
                    key = tuple(sorted([(p.position_id, variant.part_number), (q_id, other)]))
                    if key in seen_pairs:
                        continue
                    seen_pairs.add(key)  # type: ignore[arg-type]
                    constraints.append(LinearConstraint(
                        f"Incompatible[{variant.part_number}|{other}]", "incompatible",
                        tuple((i, 1.0) for i in a_idx + b_idx), LE, 1.0))
            for needed in variant.requires:
                if needed not in known_parts:
                    raise BomInputError(f"Requires names PartNumber {needed!r}, which no position offers",
                                        variant.location.child("Requires"))
                providers = [i for q_id, idx in by_part.get(needed, {}).items() if q_id != p.position_id
                             for i in idx]
                constraints.append(LinearConstraint(
                    f"Requires[{variant.part_number}->{needed}]", "requires",
                    tuple([(i, 1.0) for i in a_idx] + [(i, -1.0) for i in providers]), LE, 0.0))
    return constraints


# ---------------------------------------------------------------------------------------------
# Explaining infeasibility
# ---------------------------------------------------------------------------------------------


def unreachable_limits(problem: BomProblem) -> list[str]:
    """Limits that even the most favourable option in every position cannot meet on their own."""
    reasons = []
    for c in problem.constraints:
        coef = dict(c.coefficients)
        best = 0.0
        for sl in problem.position_slices:
            values = [coef.get(i, 0.0) for i in range(sl.start, sl.stop)]
            best += min(values) if c.sense == LE else max(values)
        if (c.sense == LE and best > c.rhs + 1e-9) or (c.sense == GE and best < c.rhs - 1e-9):
            word = "lowest" if c.sense == LE else "highest"
            reasons.append(f"{c.name} {c.sense} {c.rhs:g} cannot be met: the {word} achievable value is {best:g}")
    return reasons
