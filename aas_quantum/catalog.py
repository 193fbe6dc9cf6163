"""The content of the data-contract submodels as plain records, before any optimisation logic.

The AAS edge maps submodels to these records (and back, for writing samples); ``problem.build_problem``
turns them into the optimisation model. Nothing here knows about AAS objects or serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aas_quantum.errors import Location


@dataclass(frozen=True)
class PriceBreak:
    min_quantity: float
    unit_price: float


@dataclass(frozen=True)
class Offer:
    """A supplier's price for one part number."""

    part_number: str
    unit_price: float
    currency: str
    min_order_quantity: float = 1.0
    lead_time_days: float = 0.0
    max_quantity: float | None = None
    price_breaks: tuple[PriceBreak, ...] = ()
    location: Location = field(default=Location(), compare=False)

    def unit_price_at(self, order_quantity: float) -> float:
        """Unit price after the deepest price break the order quantity reaches."""
        price = self.unit_price
        for brk in sorted(self.price_breaks, key=lambda b: b.min_quantity):
            if order_quantity >= brk.min_quantity:
                price = brk.unit_price
        return price


@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    name: str
    country: str = ""
    risk_score: float = 0.0
    certifications: tuple[str, ...] = ()
    offers: tuple[Offer, ...] = ()
    submodel_id: str = ""
    submodel_version: str = ""
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class Variant:
    """One interchangeable component for a position.

    ``attributes`` holds every numeric per-unit figure keyed by its semanticId (weight, CO2,
    performance and any extra attribute), so generic resource limits can refer to them.
    """

    part_number: str
    manufacturer: str = ""
    designation: str = ""
    attributes: tuple[tuple[str, float], ...] = ()
    compliance: tuple[str, ...] = ()
    asset_id: str = ""
    incompatible_with: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    location: Location = field(default=Location(), compare=False)

    def attribute(self, semantic_id: str) -> float | None:
        for key, value in self.attributes:
            if key == semantic_id:
                return value
        return None


@dataclass(frozen=True)
class PositionSpec:
    """A BoM position and its candidate variants (one ComponentVariants submodel)."""

    position_id: str
    designation: str
    quantity: float
    unit: str = "C62"
    min_performance: float | None = None
    variants: tuple[Variant, ...] = ()
    submodel_id: str = ""
    submodel_version: str = ""
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class ResourceLimitSpec:
    """sum over positions of quantity * attribute <sense> bound; attribute is a semanticId."""

    name: str
    attribute: str
    sense: str  # "<=" or ">="
    bound: float


@dataclass(frozen=True)
class SolverPreferences:
    """The request submodel's solver defaults; None where it sets none (the solver defaults apply)."""

    method: str | None = None
    reps: int | None = None
    shots: int | None = None
    qubit_budget: int | None = None
    time_limit_s: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights of the objective terms, all in request currency.

    co2_price_per_kg: money per kg CO2e; risk: fraction of spend charged per unit risk score;
    concentration: money per (positions at one supplier)^2.
    """

    cost: float = 1.0
    co2_price_per_kg: float = 0.0
    risk: float = 0.0
    concentration: float = 0.0


@dataclass(frozen=True)
class Request:
    """The BomOptimizationRequest of a product."""

    product_id: str
    currency: str = "EUR"
    max_total_weight_kg: float | None = None
    min_total_performance: float | None = None
    max_lead_time_days: float | None = None
    budget: float | None = None
    max_total_co2e_kg: float | None = None
    resource_limits: tuple[ResourceLimitSpec, ...] = ()
    required_compliance: tuple[str, ...] = ()
    max_positions_per_supplier: int | None = None
    max_supplier_share: float | None = None
    weights: ObjectiveWeights = ObjectiveWeights()
    exchange_rates: tuple[tuple[str, float], ...] = ()  # (currency, request-currency per unit)
    lot_size: float = 1.0  # product units one run buys for (quantities and per-product limits scale)
    solver: SolverPreferences = SolverPreferences()
    submodel_id: str = ""
    submodel_version: str = ""
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class SourceSubmodel:
    """A submodel an input was read from, quoted in the result for traceability: the catalogue lists those of
    other templates (an IDTA BoM, a Nameplate...), the problem every one it was built from."""

    submodel_id: str
    semantic_id: str
    version: str = ""


@dataclass(frozen=True)
class Catalog:
    """Everything read for one product: its request, its positions and the suppliers in scope."""

    request: Request
    positions: tuple[PositionSpec, ...]
    suppliers: tuple[Supplier, ...]
    sources: tuple[SourceSubmodel, ...] = ()  # template submodels read besides the contract's own
    product_designation: str = ""  # what the product is called (its Nameplate, else its shell's description)
    product_name: str = ""  # its short name, from its ids (``problem.product_name``); "" until read from an AAS
