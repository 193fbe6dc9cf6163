"""The element tables of the four contract submodels.

One table drives the templates, their ConceptDescriptions, the reader's element lookup (by
semanticId) and the README check, so the contract is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from aas_quantum import contract


@dataclass(frozen=True)
class Field:
    """An element of a contract submodel. ``name`` is its idShort and its concept name."""

    name: str
    value_type: str = "xs:string"  # for properties; "list" / "collection" for containers
    description: str = ""
    unit: str = ""
    required: bool = False
    children: tuple[Field, ...] = ()  # members of a collection, or of each list item
    item: str = ""  # concept name of a list's items
    example: str = ""

    @property
    def semantic_id(self) -> str:
        return contract.concept(self.name)

    @property
    def is_list(self) -> bool:
        return self.value_type == "list"

    @property
    def is_string_list(self) -> bool:
        return self.is_list and len(self.children) == 1 and self.children[0].name == self.item

    @property
    def is_collection(self) -> bool:
        return self.value_type == "collection"

    def child(self, name: str) -> Field:
        for f in self.children:
            if f.name == name:
                return f
        raise KeyError(name)


def _p(name: str, vt: str, description: str, unit: str = "", required: bool = False, example: str = "") -> Field:
    return Field(name, vt, description, unit, required, example=example)


def _strings(name: str, item: str, description: str, example: str = "") -> Field:
    """A SubmodelElementList of xs:string Properties."""
    return Field(name, "list", description, item=item, children=(_p(item, "xs:string", item, example=example),))


PRICE_BREAK = Field("PriceBreak", "collection", "quantity-dependent unit price", children=(
    _p("MinQuantity", "xs:double", "order quantity from which the price applies", "C62", True, "100"),
    _p("UnitPrice", "xs:double", "unit price from that quantity on, in the offer currency", "", True, "9.5"),
))

VARIANT = Field("Variant", "collection", "one interchangeable component", children=(
    _p("PartNumber", "xs:string", "manufacturer part number, the join key to supplier offers", required=True,
       example="MOT-2207-1750"),
    _p("Manufacturer", "xs:string", "manufacturer name", example="T-Motor"),
    _p("ManufacturerProductDesignation", "xs:string", "manufacturer's product designation",
       example="Brushless motor 2207 1750KV"),
    _p("UnitWeight", "xs:double", "mass of one unit", "kg", example="0.032"),
    _p("Performance", "xs:double", "performance score of one unit (higher is better)", example="8.5"),
    _p("CO2ePerUnit", "xs:double", "cradle-to-gate carbon footprint of one unit", "kg", example="1.2"),
    _strings("Compliance", "ComplianceFlag", "compliance flags the variant meets (RoHS, REACH, ...)", "RoHS"),
    _p("AssetId", "xs:string", "globalAssetId of the variant's own AAS"),
    _strings("IncompatibleWith", "IncompatiblePartNumber",
             "PartNumbers of other positions this variant cannot be combined with"),
    _strings("Requires", "RequiredPartNumber", "PartNumbers one of which another position must use"),
    Field("Attributes", "collection",
          "further numeric per-unit attributes; each Property's semanticId names it for ResourceLimits"),
))

COMPONENT_VARIANTS = (
    _p("PositionId", "xs:string", "BoM position (item) identifier, unique in the product", required=True,
       example="0010"),
    _p("Designation", "xs:string", "what the position is", required=True, example="Drive motor"),
    _p("Quantity", "xs:double", "units needed per product", "Unit", True, "4"),
    _p("Unit", "xs:string", "UN/CEFACT unit code of Quantity (default C62 = piece)", example="C62"),
    _p("MinPerformance", "xs:double", "variants below this Performance are not admissible"),
    Field("Variants", "list", "candidate variants", required=True, item="Variant", children=VARIANT.children),
)

OFFER = Field("Offer", "collection", "a supplier's price for one part", children=(
    _p("PartNumber", "xs:string", "part offered", required=True, example="MOT-2207-1750"),
    _p("UnitPrice", "xs:double", "unit price at MinOrderQuantity", "Currency", True, "14.9"),
    _p("Currency", "xs:string", "ISO 4217 code", required=True, example="EUR"),
    _p("MinOrderQuantity", "xs:double", "minimum order quantity (MOQ); smaller needs are rounded up", "C62",
       example="1"),
    _p("LeadTimeDays", "xs:double", "delivery lead time", "d", True, "14"),
    _p("MaxQuantity", "xs:double", "capacity: most units the supplier can deliver", "C62"),
    Field("PriceBreaks", "list", "volume prices", item="PriceBreak", children=PRICE_BREAK.children),
))

SUPPLIER_OFFERS = (
    _p("SupplierId", "xs:string", "supplier identifier (vendor number), unique", required=True, example="SUP-001"),
    _p("Name", "xs:string", "supplier name", required=True, example="Example Components GmbH"),
    _p("Country", "xs:string", "ISO 3166-1 alpha-2 country code", example="DE"),
    _p("RiskScore", "xs:double", "supply risk from 0 (none) to 1 (high)", example="0.2"),
    _strings("Certifications", "Certification", "certifications held (ISO 9001, IATF 16949, ...)", "ISO 9001"),
    Field("Offers", "list", "offers", required=True, item="Offer", children=OFFER.children),
)

RESOURCE_LIMIT = Field("ResourceLimit", "collection", "generic limit on a summed attribute", children=(
    _p("Name", "xs:string", "name used in reports", required=True, example="MaxTotalVolume"),
    _p("Attribute", "xs:string", "semanticId of the per-unit variant attribute to sum", required=True),
    _p("Sense", "xs:string", "'<=' or '>='", required=True, example="<="),
    _p("Bound", "xs:double", "bound of the sum over positions of quantity * attribute", required=True),
))

EXCHANGE_RATE = Field("ExchangeRate", "collection", "conversion into the request currency", children=(
    _p("Currency", "xs:string", "ISO 4217 code converted from", required=True, example="USD"),
    _p("Rate", "xs:double", "request-currency units per unit of Currency", required=True, example="0.92"),
))

OPTIMIZATION_REQUEST = (
    _p("ProductId", "xs:string", "product identifier (defaults to the product AAS id)"),
    _p("Currency", "xs:string", "ISO 4217 currency of all money figures", required=True, example="EUR"),
    _p("MaxTotalWeight", "xs:double", "limit on sum of quantity * UnitWeight", "kg"),
    _p("MinTotalPerformance", "xs:double", "lower limit on sum of quantity * Performance"),
    _p("MaxTotalCO2e", "xs:double", "limit on sum of quantity * CO2ePerUnit", "kg"),
    _p("MaxLeadTimeDays", "xs:double", "offers with longer lead time are not admissible", "d"),
    _p("Budget", "xs:double", "limit on total extended price", "Currency"),
    _p("LotSize", "xs:double", "products one purchase is for: quantities and the limits above are per "
       "product and are multiplied by it; MOQs and price breaks apply to the lot", example="1"),
    Field("ResourceLimits", "list", "further limits", item="ResourceLimit", children=RESOURCE_LIMIT.children),
    _strings("RequiredCompliance", "RequiredComplianceFlag", "flags every chosen variant must carry", "RoHS"),
    _p("MaxPositionsPerSupplier", "xs:int", "most positions one supplier may serve"),
    _p("MaxSupplierShare", "xs:double", "most share of spend one supplier may get (0..1)"),
    Field("ObjectiveWeights", "collection", "weights of the objective terms", children=(
        _p("Cost", "xs:double", "weight of spend", example="1"),
        _p("CO2Price", "xs:double", "money per kg CO2e added to the objective", "Currency/kg", example="0"),
        _p("Risk", "xs:double", "share of spend charged per unit RiskScore", example="0"),
        _p("Concentration", "xs:double", "money per (positions at one supplier)^2", example="0"),
    )),
    Field("ExchangeRates", "list", "rates for offers in other currencies", item="ExchangeRate",
          children=EXCHANGE_RATE.children),
    Field("SolverPreferences", "collection", "defaults for the solver; CLI flags override", children=(
        _p("Method", "xs:string", "qaoa | vqe | hybrid | exact | greedy | anneal | auto", example="auto"),
        _p("Reps", "xs:int", "QAOA layers p", example="2"),
        _p("Shots", "xs:int", "samples drawn from the final state", example="4096"),
        _p("QubitBudget", "xs:int", "largest direct quantum run; larger problems are decomposed", example="20"),
        _p("TimeLimitSeconds", "xs:double", "time limit per solver", "s", example="60"),
        _p("Seed", "xs:int", "random seed", example="7"),
    )),
)

SELECTION_LINE = Field("SelectedPosition", "collection", "the choice for one position", children=(
    _p("PositionId", "xs:string", "BoM position", required=True),
    _p("PartNumber", "xs:string", "chosen variant", required=True),
    _p("Manufacturer", "xs:string", "its manufacturer"),
    _p("SupplierId", "xs:string", "chosen supplier", required=True),
    _p("Quantity", "xs:double", "units needed", "C62", True),
    _p("OrderQuantity", "xs:double", "units ordered (MOQ applied)", "C62", True),
    _p("UnitPrice", "xs:double", "unit price after price breaks", "Currency", True),
    _p("ExtendedPrice", "xs:double", "OrderQuantity * UnitPrice", "Currency", True),
    _p("LeadTimeDays", "xs:double", "lead time", "d", True),
    Field("VariantAsset", "reference", "reference to the variant's AAS (where known)"),
))

CONSTRAINT_LINE = Field("ConstraintCheck", "collection", "one constraint of the problem", children=(
    _p("Name", "xs:string", "constraint", required=True),
    _p("Value", "xs:double", "left-hand side at the selection", required=True),
    _p("Sense", "xs:string", "'<=' or '>='", required=True),
    _p("Bound", "xs:double", "right-hand side", required=True),
    _p("Satisfied", "xs:boolean", "whether it holds", required=True),
    _p("Slack", "xs:double", "distance to the bound (negative when violated)", required=True),
))

OPTIMIZATION_RESULT = (
    _p("Status", "xs:string", "optimal | feasible", required=True),
    _p("ProductId", "xs:string", "product", required=True),
    _p("Started", "xs:dateTime", "run start (UTC)", required=True),
    _p("Finished", "xs:dateTime", "run end (UTC)", required=True),
    _p("RunId", "xs:string", "id of the run; its status and result messages carry the same id"),
    Field("Inputs", "list", "every submodel read", item="InputSubmodel", children=(
        _p("SubmodelId", "xs:string", "id", required=True),
        _p("SemanticId", "xs:string", "its semanticId", required=True),
        _p("Version", "xs:string", "version.revision read"),
    )),
    Field("SolverRecord", "collection", "how the answer was obtained", children=(
        _p("Method", "xs:string", "solver", required=True),
        _p("Backend", "xs:string", "simulator / device / MILP engine", required=True),
        _p("Encoding", "xs:string", "problem encoding (quantum solvers)"),
        _p("Qubits", "xs:int", "qubits used"),
        _p("Reps", "xs:int", "QAOA layers"),
        _p("Optimizer", "xs:string", "classical optimiser"),
        _p("Evaluations", "xs:int", "objective evaluations"),
        _p("Shots", "xs:int", "samples"),
        _p("Seed", "xs:int", "random seed"),
        _p("WallTimeSeconds", "xs:double", "solver wall time", "s", True),
        _p("ProbabilityFeasible", "xs:double", "share of samples that were feasible"),
        _p("ProbabilityOptimal", "xs:double", "share of samples that were optimal"),
        _p("BestEnergy", "xs:double", "lowest energy sampled"),
    )),
    Field("KPIs", "collection", "key figures", children=(
        _p("Currency", "xs:string", "ISO 4217", required=True),
        _p("Objective", "xs:double", "objective value (cost + weighted terms)", "Currency", True),
        _p("TotalCost", "xs:double", "sum of ExtendedPrice", "Currency", True),
        _p("TotalWeight", "xs:double", "sum of quantity * UnitWeight", "kg", True),
        _p("TotalPerformance", "xs:double", "sum of quantity * Performance", required=True),
        _p("TotalCO2e", "xs:double", "sum of quantity * CO2ePerUnit", "kg", True),
        _p("MaxLeadTimeDays", "xs:double", "longest chosen lead time", "d", True),
        _p("SuppliersUsed", "xs:int", "distinct suppliers chosen", required=True),
        _p("GreedyCost", "xs:double", "total cost of the greedy baseline", "Currency"),
        _p("GreedyObjective", "xs:double", "objective of the greedy baseline", "Currency"),
        _p("ImprovementVsGreedyPercent", "xs:double", "objective improvement over greedy", "%"),
        _p("OptimumBound", "xs:double", "proven optimum (or lower bound) of the objective", "Currency"),
        _p("OptimumProven", "xs:boolean", "whether OptimumBound is the proven optimum"),
        _p("GapToOptimumPercent", "xs:double", "objective above OptimumBound", "%"),
        _p("LotSize", "xs:double", "products the quantities and money figures are for (absent: 1)"),
    )),
    Field("Selection", "list", "one entry per position", required=True, item="SelectedPosition",
          children=SELECTION_LINE.children),
    Field("Constraints", "list", "constraint report", required=True, item="ConstraintCheck",
          children=CONSTRAINT_LINE.children),
)

TEMPLATES: dict[str, tuple[str, tuple[Field, ...]]] = {
    "ComponentVariants": (contract.COMPONENT_VARIANTS, COMPONENT_VARIANTS),
    "SupplierOffers": (contract.SUPPLIER_OFFERS, SUPPLIER_OFFERS),
    "BomOptimizationRequest": (contract.OPTIMIZATION_REQUEST, OPTIMIZATION_REQUEST),
    "BomOptimizationResult": (contract.OPTIMIZATION_RESULT, OPTIMIZATION_RESULT),
}


def walk(fields: tuple[Field, ...]) -> list[Field]:
    """Every concept of a table, depth first, including the concepts of list items."""
    out: list[Field] = []
    for f in fields:
        out.append(f)
        if f.is_list and not f.is_string_list:
            out.append(Field(f.item, "collection", f"entry of {f.name}"))
        out.extend(walk(f.children))
    return out
