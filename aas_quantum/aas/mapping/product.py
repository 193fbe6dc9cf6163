"""Contract submodels <-> catalogue records.

Elements are found by semanticId (never by idShort); a missing required element, a wrong value
type or an element of the wrong kind is a ``BomInputError`` naming the source, the submodel id
and the idShort path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from basyx.aas import model
from basyx.aas.util import traversal

from aas_quantum import contract, solvers
from aas_quantum.aas import elements as el
from aas_quantum.aas import idta
from aas_quantum.aas import schema as sc
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.result import KPI_KEYS, RECORD_KEYS, result_submodel_id
from aas_quantum.bulk import paused_gc
from aas_quantum.catalog import (
    Catalog,
    ObjectiveWeights,
    Offer,
    PositionSpec,
    PriceBreak,
    Request,
    ResourceLimitSpec,
    SolverPreferences,
    SourceSubmodel,
    Supplier,
    Variant,
)
from aas_quantum.errors import BomInputError, ConfigError, Location
from aas_quantum.problem import BomProblem, build_problem
from aas_quantum.report import ConstraintStatus, Kpis, selection_lines
from aas_quantum.sanitize import printable
from aas_quantum.solvers.base import SolverRecord
from aas_quantum.summary import RunSummary, legacy_run_id

NUMERIC = ("xs:double", "xs:int")


def semantic_key(element: model.HasSemantics) -> str:
    sid = element.semantic_id
    return sid.key[0].value if sid is not None and sid.key else ""


def version_of(submodel: model.Submodel) -> str:
    admin = submodel.administration
    if admin is None or admin.version is None:
        return ""
    return admin.version + (f".{admin.revision}" if admin.revision is not None else "")


class _Node:
    """The children of a submodel or collection, looked up by the semanticId of a contract field."""

    def __init__(self, children: Iterable[model.SubmodelElement], location: Location) -> None:
        self.location = location
        self.by_semantic: dict[str, model.SubmodelElement] = {}
        for child in children:
            self.by_semantic.setdefault(semantic_key(child), child)

    def element(self, f: sc.Field, required: bool | None = None) -> model.SubmodelElement | None:
        found = self.by_semantic.get(f.semantic_id)
        if found is None and (f.required if required is None else required):
            raise BomInputError(f"missing required element {f.name} (semanticId {f.semantic_id})",
                                self.location.child(f.name))
        return found

    def value(self, f: sc.Field, required: bool | None = None) -> Any:
        found = self.element(f, required)
        if found is None:
            return None
        if not isinstance(found, model.Property):
            raise BomInputError(f"expected a Property, found a {type(found).__name__}", self._at(found, f))
        if found.value is None:
            if f.required if required is None else required:
                raise BomInputError(f"required element {f.name} has no value", self._at(found, f))
            return None
        if f.value_type in NUMERIC:
            if isinstance(found.value, bool) or not isinstance(found.value, int | float | Decimal):
                raise BomInputError(
                    f"wrong value type: {f.name} must be numeric ({f.value_type}), got "
                    f"{model.datatypes.XSD_TYPE_NAMES.get(found.value_type, found.value_type)} {found.value!r}",
                    self._at(found, f))
            return _finite(found.value, f.name, lambda: self._at(found, f), integer=f.value_type == "xs:int")
        return str(found.value)

    def _at(self, found: model.SubmodelElement, f: sc.Field) -> Location:
        """The element's place, for a message (built only when there is one to give: 100,000 values per package)."""
        return self.location.child(found.id_short or f.name)

    def strings(self, f: sc.Field) -> tuple[str, ...]:
        return tuple(str(item.value) for item, _ in self.items(f) if isinstance(item, model.Property)
                     and item.value is not None)

    def items(self, f: sc.Field) -> list[tuple[model.SubmodelElement, Location]]:
        found = self.element(f)
        if found is None:
            return []
        loc = self.location.child(found.id_short or f.name)
        if not isinstance(found, model.SubmodelElementList):
            raise BomInputError(f"expected a SubmodelElementList, found a {type(found).__name__}", loc)
        return [(item, loc.child(f"[{i}]")) for i, item in enumerate(found.value)]

    def collections(self, f: sc.Field) -> list[_Node]:
        nodes = []
        for item, loc in self.items(f):
            if not isinstance(item, model.SubmodelElementCollection):
                raise BomInputError(f"expected a SubmodelElementCollection, found a {type(item).__name__}", loc)
            nodes.append(_Node(item.value, loc))
        return nodes

    def collection(self, f: sc.Field) -> _Node | None:
        found = self.element(f)
        if found is None:
            return None
        loc = self.location.child(found.id_short or f.name)
        if not isinstance(found, model.SubmodelElementCollection):
            raise BomInputError(f"expected a SubmodelElementCollection, found a {type(found).__name__}", loc)
        return _Node(found.value, loc)


def _finite(value: int | float | Decimal, name: str, where: Location | Callable[[], Location],
            integer: bool = False) -> float:
    """Every number the optimisation reads is finite: NaN passes every comparison (a NaN weight would
    satisfy any weight limit) and infinity breaks the solvers, so both are input errors here."""
    number = float(value)
    if not math.isfinite(number):
        raise BomInputError(f"{name} must be a finite number, got {value!r}",
                            where if isinstance(where, Location) else where())
    return int(value) if integer else number


def _root(submodel: model.Submodel, source: str) -> _Node:
    return _Node(submodel.submodel_element, Location(source, submodel.id))


def _fields(table: tuple[sc.Field, ...], name: str) -> sc.Field:
    return next(f for f in table if f.name == name)


# ------------------------------------------------------------------------------ reading


def read_variant(node: _Node) -> Variant:
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
        attributes.setdefault(key, _finite(element.value, f"attribute {key}", loc))
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
    node, t = _root(submodel, source), sc.COMPONENT_VARIANTS
    variants = tuple(read_variant(v) for v in node.collections(_fields(t, "Variants")))
    if not variants:
        raise BomInputError("the position lists no Variants", node.location.child("Variants"))
    return PositionSpec(
        position_id=node.value(_fields(t, "PositionId")),
        designation=node.value(_fields(t, "Designation")),
        quantity=node.value(_fields(t, "Quantity")),
        unit=node.value(_fields(t, "Unit")) or "C62",
        min_performance=node.value(_fields(t, "MinPerformance")),
        variants=variants,
        submodel_id=submodel.id,
        submodel_version=version_of(submodel),
        location=node.location,
    )


def read_offer(node: _Node) -> Offer:
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
    node, t = _root(submodel, source), sc.SUPPLIER_OFFERS
    return Supplier(
        supplier_id=node.value(_fields(t, "SupplierId")),
        name=node.value(_fields(t, "Name")),
        country=node.value(_fields(t, "Country")) or "",
        risk_score=node.value(_fields(t, "RiskScore")) or 0.0,
        certifications=node.strings(_fields(t, "Certifications")),
        offers=tuple(read_offer(o) for o in node.collections(_fields(t, "Offers"))),
        submodel_id=submodel.id,
        submodel_version=version_of(submodel),
        location=node.location,
    )


def read_request(submodel: model.Submodel, source: str, product_id: str) -> Request:
    node, t = _root(submodel, source), sc.OPTIMIZATION_REQUEST

    def v(name: str) -> Any:
        return node.value(_fields(t, name))

    weights_f, solver_f = _fields(t, "ObjectiveWeights"), _fields(t, "SolverPreferences")
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
            for r in node.collections(_fields(t, "ResourceLimits"))
        ),
        required_compliance=node.strings(_fields(t, "RequiredCompliance")),
        max_positions_per_supplier=v("MaxPositionsPerSupplier"),
        max_supplier_share=v("MaxSupplierShare"),
        weights=ObjectiveWeights(
            cost=w("Cost", defaults_w.cost), co2_price_per_kg=w("CO2Price", defaults_w.co2_price_per_kg),
            risk=w("Risk", defaults_w.risk), concentration=w("Concentration", defaults_w.concentration),
        ),
        exchange_rates=tuple(
            (r.value(sc.EXCHANGE_RATE.child("Currency")), r.value(sc.EXCHANGE_RATE.child("Rate")))
            for r in node.collections(_fields(t, "ExchangeRates"))
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


def submodels_with(env: AasEnvironment, semantic_id: str) -> list[model.Submodel]:
    return [sm for sm in env.of_type(model.Submodel) if semantic_key(sm) == semantic_id]


def product_shells(env: AasEnvironment) -> list[model.AssetAdministrationShell]:
    """Shells that reference a BomOptimizationRequest submodel."""
    requests = {sm.id for sm in submodels_with(env, contract.OPTIMIZATION_REQUEST)}
    return [shell for shell in env.of_type(model.AssetAdministrationShell)
            if any(ref.key[-1].value in requests for ref in shell.submodel)]


def _referenced(env: AasEnvironment, shell: model.AssetAdministrationShell, *semantic_ids: str
                ) -> list[model.Submodel]:
    found = []
    for reference in shell.submodel:
        sm_id = reference.key[-1].value
        if sm_id not in env.origin and sm_id == result_submodel_id(shell.id):
            continue  # a result removed by hand: the next write repairs the reference, it is no input
        if sm_id not in env.origin:
            skipped = " (or lenient reading skipped it: see the warnings)" if env.warnings else ""
            raise BomInputError(f"shell {shell.id} references submodel {sm_id}, which is in none of the "
                                f"inputs{skipped}", Location(env.origin.get(shell.id, "")))
        submodel = env.objects.get_item(sm_id)
        if isinstance(submodel, model.Submodel) and semantic_key(submodel) in semantic_ids:
            found.append(submodel)
    return found


def product_shell(env: AasEnvironment, shell_id: str | None = None) -> model.AssetAdministrationShell:
    """The product to optimise: ``shell_id``, or the only shell carrying a request."""
    shells = product_shells(env)
    if shell_id is not None:
        shells = [s for s in shells if s.id == shell_id]
        if not shells:
            raise BomInputError(f"no shell {shell_id!r} with a BomOptimizationRequest in the inputs")
    if not shells:
        raise BomInputError(f"no shell references a BomOptimizationRequest submodel "
                            f"(semanticId {contract.OPTIMIZATION_REQUEST}) in the inputs")
    if len(shells) > 1:
        raise BomInputError("several product shells carry a request; choose one with --shell: "
                            + ", ".join(sorted(s.id for s in shells)))
    return shells[0]


@paused_gc()
def read_catalog(env: AasEnvironment, shell: model.AssetAdministrationShell) -> Catalog:
    """The catalogue of one product: its request, the positions it references, the suppliers in scope."""
    requests = _referenced(env, shell, contract.OPTIMIZATION_REQUEST)
    if len(requests) != 1:
        raise BomInputError(f"shell {shell.id} references {len(requests)} BomOptimizationRequest submodels ("
                            + ", ".join(sorted(sm.id for sm in requests)) + "); a product has exactly one",
                            Location(env.origin.get(shell.id, "")))
    request_sm = requests[0]
    request = read_request(request_sm, env.origin[request_sm.id], shell.id)
    components = _Components(env)
    positions = [read_position(sm, env.origin[sm.id]) for sm in _referenced(env, shell, contract.COMPONENT_VARIANTS)]
    hierarchies = _referenced(env, shell, *idta.HIERARCHY_SUBMODELS)
    if len(hierarchies) > 1:
        raise BomInputError(f"shell {shell.id} references {len(hierarchies)} Hierarchical Structures submodels; "
                            "a product has one BoM", Location(env.origin[shell.id]))
    if hierarchies:  # the IDTA BoM gives positions, their order and quantities
        positions = _bom_positions(env, components, hierarchies[0], positions)
    else:  # the BoM item order, not the (unordered) order of the shell's references
        positions.sort(key=lambda p: p.position_id)
    if not positions:
        raise BomInputError(f"product shell {shell.id} references no ComponentVariants submodel",
                            Location(env.origin[shell.id]))
    suppliers = tuple(sorted((read_supplier(sm, env.origin[sm.id])
                              for sm in submodels_with(env, contract.SUPPLIER_OFFERS)),
                             key=lambda s: s.supplier_id))
    return Catalog(request, tuple(components.completed(p) for p in positions), suppliers,
                   tuple(components.sources(hierarchies)), product_designation(env, shell))


def product_designation(env: AasEnvironment, shell: model.AssetAdministrationShell) -> str:
    """The product's name: its Nameplate's product designation, else the shell's description or
    display name (English first), else "" (the ERP files then use the product number)."""
    own = [sm for r in shell.submodel if r.key[-1].value in env.origin
           and isinstance(sm := env.objects.get_item(r.key[-1].value), model.Submodel)
           and semantic_key(sm) not in (contract.OPTIMIZATION_REQUEST, contract.COMPONENT_VARIANTS,
                                        contract.OPTIMIZATION_RESULT, *idta.HIERARCHY_SUBMODELS)]
    designation = idta.component_facts(own, env.origin.get(shell.id, "")).designation
    for text in (shell.description, shell.display_name):
        if designation or not text:
            continue
        designation = text.get("en") or text.get("en-US") or next(iter(text.values()), "")
    return printable(designation).strip()


class _Components:
    """Component AAS by globalAssetId, and the facts their Nameplate / Technical Data give."""

    def __init__(self, env: AasEnvironment) -> None:
        self.env = env
        self.shells = {s.asset_information.global_asset_id: s for s in env.of_type(model.AssetAdministrationShell)
                       if s.asset_information.global_asset_id}
        self.used: dict[str, model.Submodel] = {}
        self._facts: dict[str, idta.ComponentFacts] = {}

    def submodels(self, asset_id: str) -> list[model.Submodel]:
        """The component's submodels in the inputs; Nameplate first, then Technical Data, then the rest."""
        shell = self.shells.get(asset_id)
        found = [self.env.objects.get_item(r.key[-1].value) for r in (shell.submodel if shell else ())
                 if r.key[-1].value in self.env.origin]
        submodels = [sm for sm in found if isinstance(sm, model.Submodel)]
        return sorted(submodels, key=lambda sm: ("nameplate" not in semantic_key(sm).lower(), sm.id))

    def facts(self, asset_id: str) -> idta.ComponentFacts:
        if asset_id not in self._facts:  # a component may stand in several positions and be completed too
            submodels = [sm for sm in self.submodels(asset_id)
                         if semantic_key(sm) not in (contract.COMPONENT_VARIANTS, *idta.HIERARCHY_SUBMODELS)]
            facts = idta.component_facts(submodels, self.env.origin.get(self.shells[asset_id].id, ""))
            if facts != idta.ComponentFacts():
                self.used.update((sm.id, sm) for sm in submodels)
            self._facts[asset_id] = facts
        return self._facts[asset_id]

    def variants_of(self, asset_id: str) -> list[PositionSpec]:
        return [read_position(sm, self.env.origin[sm.id]) for sm in self.submodels(asset_id)
                if semantic_key(sm) == contract.COMPONENT_VARIANTS]

    def variant(self, asset_id: str, at: Location) -> Variant:
        """A variant that is exactly one component AAS: its part number is the Nameplate's."""
        if asset_id not in self.shells:
            raise BomInputError(f"component {asset_id} has no AAS in the inputs (its Nameplate gives the part "
                                "number), and no ComponentVariants submodel lists the position's variants", at)
        facts, shell = self.facts(asset_id), self.shells[asset_id]
        source = Location(self.env.origin[shell.id])
        if not facts.part_number:
            raise BomInputError(f"component AAS {shell.id} names no part number (Nameplate "
                                "ProductArticleNumberOfManufacturer or OrderCodeOfManufacturer, Technical Data "
                                "ManufacturerArticleNumber)", source)
        weight = () if facts.weight_kg is None else ((contract.UNIT_WEIGHT, facts.weight_kg),)
        return Variant(facts.part_number, facts.manufacturer, facts.designation, weight, asset_id=asset_id,
                       location=source)

    def completed(self, position: PositionSpec) -> PositionSpec:  # what assets_to_complete looks for
        """Fill what a variant leaves out (manufacturer, designation, weight) from its component's AAS."""
        variants = []
        for v in position.variants:
            if v.asset_id in self.shells and (not v.manufacturer or not v.designation
                                              or contract.UNIT_WEIGHT not in dict(v.attributes)):
                facts = self.facts(v.asset_id)
                weight = () if facts.weight_kg is None or contract.UNIT_WEIGHT in dict(v.attributes) \
                    else ((contract.UNIT_WEIGHT, facts.weight_kg),)
                v = dataclasses.replace(v, manufacturer=v.manufacturer or facts.manufacturer,
                                        designation=v.designation or facts.designation,
                                        attributes=tuple(sorted(v.attributes + weight)))
            variants.append(v)
        return dataclasses.replace(position, variants=tuple(variants))

    def sources(self, hierarchies: list[model.Submodel]) -> list[SourceSubmodel]:
        used = {**{sm.id: sm for sm in hierarchies}, **self.used}
        return [SourceSubmodel(sm.id, semantic_key(sm), version_of(sm)) for sm in used.values()]


_COMPLETABLE = tuple(contract.concept(n) for n in ("Manufacturer", "ManufacturerProductDesignation", "UnitWeight"))


def assets_to_complete(submodel: model.Submodel) -> set[str]:
    """AssetIds of the variants of a ComponentVariants submodel that leave out a fact their component's AAS
    can give (what ``_Components.completed`` fills in): only those components' AAS need reading."""
    found: set[str] = set()
    variant = contract.concept("Variant")
    for item in traversal.walk_submodel(submodel):
        if not (isinstance(item, model.SubmodelElementCollection) and semantic_key(item) == variant):
            continue
        stated = {semantic_key(e) for e in traversal.walk_submodel_element(item) if isinstance(e, model.Property)
                  and e.value not in (None, "")}
        if any(k.startswith(contract.ECLASS_WEIGHT_PREFIX) for k in stated):
            stated.add(contract.UNIT_WEIGHT)  # read_variant takes an ECLASS weight for UnitWeight
        asset = next((str(e.value) for e in item.value if isinstance(e, model.Property)
                      and semantic_key(e) == contract.concept("AssetId") and e.value), "")
        if asset and not set(_COMPLETABLE) <= stated:
            found.add(asset)
    return found


def _bom_positions(env: AasEnvironment, components: _Components, hierarchy: model.Submodel,
                   listed: list[PositionSpec]) -> list[PositionSpec]:
    """Positions of an IDTA 02011 BoM. A Node's variants are the ComponentVariants submodel with its idShort as
    PositionId (in the product AAS, else in the component's AAS), else the Node's component and its SameAs
    alternatives, each read from its own AAS. The BoM's BulkCount is the quantity either way."""
    assets_of: dict[str, str] = {}
    for sm in env.of_type(model.Submodel):
        if idta.is_hierarchy(sm):
            assets_of.update(idta.entity_assets(sm))
    explicit = {p.position_id: p for p in listed}
    positions = []
    for node in idta.bom_nodes(hierarchy, env.origin[hierarchy.id], assets_of):
        spec = explicit.pop(node.position_id, None)
        if spec is None and node.asset_id:
            own = components.variants_of(node.asset_id)
            spec = own[0] if len(own) == 1 else None
        if spec is not None:
            positions.append(dataclasses.replace(spec, position_id=node.position_id, quantity=node.quantity))
            continue
        assets = [a for a in (node.asset_id, *node.alternatives) if a]
        if not assets:
            raise BomInputError(f"the Node has no globalAssetId and no ComponentVariants submodel has PositionId "
                                f"{node.position_id!r}", node.location)
        positions.append(PositionSpec(node.position_id, node.designation, node.quantity,
                                      variants=tuple(components.variant(a, node.location) for a in assets),
                                      submodel_id=hierarchy.id, submodel_version=version_of(hierarchy),
                                      location=node.location))
    if explicit:
        stray = sorted(explicit.values(), key=lambda p: p.position_id)
        raise BomInputError("ComponentVariants PositionId " + ", ".join(repr(p.position_id) for p in stray)
                            + f" is no Node of the BoM (Hierarchical Structures submodel {hierarchy.id})",
                            stray[0].location)
    return positions


@dataclass(frozen=True)
class SavedPick:
    """One SelectedPosition of a saved result: what was bought, and what it cost then."""

    position_id: str
    part_number: str
    supplier_id: str
    extended_price: float
    location: Location


def read_result(submodel: model.Submodel, source: str) -> tuple[RunSummary, tuple[SavedPick, ...]]:
    """A saved BomOptimizationResult: its summary (without selection lines, which only today's
    inputs can rebuild; see ``saved_run``) and its picks."""
    node, t = _root(submodel, source), sc.OPTIMIZATION_RESULT
    kpi_f, record_f, line_f, check_f = _fields(t, "KPIs"), _fields(t, "SolverRecord"), sc.SELECTION_LINE, \
        sc.CONSTRAINT_LINE
    kpis, record = node.collection(kpi_f), node.collection(record_f)
    if kpis is None or record is None:
        raise BomInputError("result has no KPIs or SolverRecord", node.location)

    def flag(value: Any) -> bool:  # xs:boolean arrives as bool or as its lexical form
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")

    # xs:dateTime arrives as a datetime or as its text
    started, finished = (dt.datetime.fromisoformat(str(node.value(_fields(t, name))))
                         for name in ("Started", "Finished"))
    product_id = node.value(_fields(t, "ProductId"))
    kpi = {key: kpis.value(kpi_f.child(name)) for name, key in KPI_KEYS.items()}
    kpi["optimum_proven"] = flag(kpi["optimum_proven"])
    kpi["lot_size"] = 1.0 if kpi["lot_size"] is None else kpi["lot_size"]  # results before lot sizes
    solver = {key: value for name, key in RECORD_KEYS.items()
              if (value := record.value(record_f.child(name))) is not None}  # unset: the record's default
    summary = RunSummary(
        run_id=node.value(_fields(t, "RunId")) or legacy_run_id(product_id, finished),
        product_id=product_id, status=node.value(_fields(t, "Status")), started=started, finished=finished,
        currency=kpis.value(kpi_f.child("Currency")), kpis=Kpis(**kpi), solver=SolverRecord(**solver),
        selection=(),
        constraints=tuple(
            ConstraintStatus(c.value(check_f.child("Name")), "", c.value(check_f.child("Value")),
                             c.value(check_f.child("Sense")), c.value(check_f.child("Bound")),
                             flag(c.value(check_f.child("Satisfied"))), c.value(check_f.child("Slack")))
            for c in node.collections(_fields(t, "Constraints"))),
    )
    picks = tuple(
        SavedPick(line.value(line_f.child("PositionId")), line.value(line_f.child("PartNumber")),
                  line.value(line_f.child("SupplierId")), line.value(line_f.child("ExtendedPrice")), line.location)
        for line in node.collections(_fields(t, "Selection"))
    )
    return summary, picks


def saved_choice(problem: BomProblem, picks: Sequence[SavedPick]) -> tuple[int, ...]:
    """The option chosen per position by a saved result, checked against today's inputs.

    A pick the inputs no longer offer, or at another price, is an error: exporting it would quote
    a selection that was never optimised.
    """
    by_position = {p.position_id: p for p in picks}
    choice = []
    for position in problem.positions:
        pick = by_position.get(position.position_id)
        if pick is None:
            raise BomInputError(f"the result has no selection for position {position.position_id!r}")
        k = next((i for i, o in enumerate(position.options)
                  if o.part_number == pick.part_number and o.supplier_id == pick.supplier_id), None)
        if k is None:
            raise BomInputError(f"{pick.part_number} from {pick.supplier_id} is no longer an option for position "
                                f"{pick.position_id} (the inputs changed since the run)", pick.location)
        now = position.options[k].extended_price
        if abs(now - pick.extended_price) > 1e-6 * max(1.0, abs(now)):
            raise BomInputError(f"position {pick.position_id}: the inputs price {pick.part_number} at {now:.2f}, "
                                f"the result at {pick.extended_price:.2f} (the inputs changed since the run)",
                                pick.location)
        choice.append(k)
    extra = set(by_position) - {p.position_id for p in problem.positions}
    if extra:
        raise BomInputError(f"the result selects positions the inputs do not have: {sorted(extra)}")
    return tuple(choice)


def saved_run(env: AasEnvironment, shell: model.AssetAdministrationShell
              ) -> tuple[BomProblem, tuple[int, ...], RunSummary] | None:
    """The product's saved result, if the environment holds one: its problem, choice and summary.

    The summary's selection lines are rebuilt from today's inputs, which ``saved_choice`` has
    checked against the result.
    """
    saved = env.objects.get(result_submodel_id(shell.id))
    if not isinstance(saved, model.Submodel):
        return None
    summary, picks = read_result(saved, env.origin[saved.id])
    catalog = read_catalog(env, shell)
    problem = build_problem(dataclasses.replace(  # the lot the run bought for
        catalog, request=dataclasses.replace(catalog.request, lot_size=summary.kpis.lot_size)))
    choice = saved_choice(problem, picks)
    recheck_result(problem, choice, summary, Location(env.origin[saved.id], saved.id))
    return problem, choice, dataclasses.replace(summary, selection=selection_lines(problem, choice))


def _differs(stored: float, actual: float) -> bool:
    return abs(stored - actual) > 1e-6 * max(1.0, abs(actual))


def recheck_result(problem: BomProblem, choice: tuple[int, ...], summary: RunSummary, where: Location) -> None:
    """A saved result, recomputed from the inputs it names before anything is derived from it (ERP files,
    explanations, OPC UA nodes): its product, key figures and constraint report must be what its selection gives
    and the selection must keep every limit. An edited result, or one from other inputs, is refused with what
    disagrees; saying "optimal" of a selection that breaks a limit would be a wrong answer reported as right."""
    x = problem.x_from_choice(choice)
    lines = selection_lines(problem, choice)
    disagree = [f"ProductId is {summary.product_id!r}, the inputs' product {problem.product_id!r}"] \
        if summary.product_id != problem.product_id else []
    actual = {
        "Objective": problem.objective(x), "TotalCost": sum(ln.extended_price for ln in lines),
        "TotalWeight": sum(ln.weight_kg for ln in lines), "TotalCO2e": sum(ln.co2e_kg for ln in lines),
        "TotalPerformance": sum(p.options[k].per_position(contract.PERFORMANCE)
                                for p, k in zip(problem.positions, choice, strict=True)),
        "MaxLeadTimeDays": max((ln.lead_time_days for ln in lines), default=0.0),
        "SuppliersUsed": len({ln.supplier_id for ln in lines}),
    }
    for name, value in actual.items():
        stored = getattr(summary.kpis, KPI_KEYS[name])
        if _differs(float(stored), float(value)):
            disagree.append(f"KPIs.{name} is {stored:g}, the selection gives {value:g}")
    stored_checks = {c.name: c for c in summary.constraints}
    for constraint in problem.constraints:
        value, holds = constraint.lhs(x), constraint.violation(x) <= 1e-9
        if not holds:
            disagree.append(f"the selection breaks {constraint.name} ({value:g} {constraint.sense} {constraint.rhs:g})")
        check = stored_checks.get(constraint.name)
        if check is not None and (_differs(check.value, value) or _differs(check.bound, constraint.rhs)
                                  or check.satisfied != holds):
            disagree.append(f"Constraints {constraint.name} says {check.value:g} {check.sense} {check.bound:g} "
                            f"({'satisfied' if check.satisfied else 'violated'}), the inputs give {value:g} "
                            f"{constraint.sense} {constraint.rhs:g}")
    if disagree:
        raise BomInputError("the result disagrees with its inputs (edited, or from other inputs): "
                            + "; ".join(disagree) + "; run `aas-quantum optimize` again", where)


def check_result(summary: RunSummary, picks: Sequence[SavedPick], where: Location) -> None:
    """A result read without its inputs (a result .json, the server's submodel), checked against itself: the
    total cost is its lines' sum, each constraint's verdict follows from its value and bound, and no result with
    a broken limit says it is feasible."""
    disagree = []
    total = sum(pick.extended_price for pick in picks)
    if _differs(summary.kpis.total_cost, total):
        disagree.append(f"KPIs.TotalCost is {summary.kpis.total_cost:g}, its Selection's ExtendedPrices sum to "
                        f"{total:g}")
    for check in summary.constraints:
        gap = check.value - check.bound if check.sense == "<=" else check.bound - check.value
        holds = gap <= 1e-9 * max(1.0, abs(check.bound))
        if holds != check.satisfied:
            disagree.append(f"Constraints {check.name}: {check.value:g} {check.sense} {check.bound:g} is "
                            f"{'satisfied' if holds else 'violated'}, the result says the opposite")
        elif not holds:
            disagree.append(f"Status is {summary.status!r}, but {check.name} is violated")
    if disagree:
        raise BomInputError("the result contradicts itself (edited?): " + "; ".join(disagree), where)


# ------------------------------------------------------------------------------ writing


def _variant_elements(v: Variant) -> list[model.SubmodelElement]:
    f = sc.VARIANT
    standard = {contract.concept(n): n for n in ("UnitWeight", "Performance", "CO2ePerUnit")}
    values: dict[str, Any] = {"PartNumber": v.part_number, "Manufacturer": v.manufacturer or None,
              "ManufacturerProductDesignation": v.designation or None, "AssetId": v.asset_id or None}
    values.update({standard[k]: val for k, val in v.attributes if k in standard})
    out = el.properties(f.children, values)
    for name, items in (("Compliance", v.compliance), ("IncompatibleWith", v.incompatible_with),
                        ("Requires", v.requires)):
        if items:
            out.append(el.string_list(f.child(name), items))
    extra = [(k, val) for k, val in v.attributes if k not in standard]
    if extra:
        out.append(el.collection(f.child("Attributes"), [
            model.Property(f"Attribute{i}", model.datatypes.Double, val, semantic_id=el.ref(k))
            for i, (k, val) in enumerate(extra)]))
    return out


def position_submodel(spec: PositionSpec, submodel_id: str) -> model.Submodel:
    t = sc.COMPONENT_VARIANTS
    elements = el.properties(t, {"PositionId": spec.position_id, "Designation": spec.designation,
                                 "Quantity": spec.quantity, "Unit": spec.unit,
                                 "MinPerformance": spec.min_performance})
    elements.append(el.collection_list(_fields(t, "Variants"), [_variant_elements(v) for v in spec.variants]))
    return el.submodel(submodel_id, "ComponentVariants", contract.COMPONENT_VARIANTS, elements)


def _offer_elements(o: Offer) -> list[model.SubmodelElement]:
    f = sc.OFFER
    out = el.properties(f.children, {
        "PartNumber": o.part_number, "UnitPrice": o.unit_price, "Currency": o.currency,
        "MinOrderQuantity": o.min_order_quantity, "LeadTimeDays": o.lead_time_days, "MaxQuantity": o.max_quantity})
    if o.price_breaks:
        out.append(el.collection_list(f.child("PriceBreaks"), [
            el.properties(sc.PRICE_BREAK.children, {"MinQuantity": b.min_quantity, "UnitPrice": b.unit_price})
            for b in o.price_breaks]))
    return out


def supplier_submodel(s: Supplier, submodel_id: str) -> model.Submodel:
    t = sc.SUPPLIER_OFFERS
    elements = el.properties(t, {"SupplierId": s.supplier_id, "Name": s.name, "Country": s.country or None,
                                 "RiskScore": s.risk_score})
    if s.certifications:
        elements.append(el.string_list(_fields(t, "Certifications"), s.certifications))
    elements.append(el.collection_list(_fields(t, "Offers"), [_offer_elements(o) for o in s.offers]))
    return el.submodel(submodel_id, "SupplierOffers", contract.SUPPLIER_OFFERS, elements)


def request_submodel(r: Request, submodel_id: str) -> model.Submodel:
    t = sc.OPTIMIZATION_REQUEST
    elements = el.properties(t, {
        "ProductId": r.product_id, "Currency": r.currency, "MaxTotalWeight": r.max_total_weight_kg,
        "MinTotalPerformance": r.min_total_performance, "MaxTotalCO2e": r.max_total_co2e_kg,
        "MaxLeadTimeDays": r.max_lead_time_days, "Budget": r.budget,
        "MaxPositionsPerSupplier": r.max_positions_per_supplier, "MaxSupplierShare": r.max_supplier_share})
    if r.resource_limits:
        elements.append(el.collection_list(_fields(t, "ResourceLimits"), [
            el.properties(sc.RESOURCE_LIMIT.children,
                          {"Name": lim.name, "Attribute": lim.attribute, "Sense": lim.sense, "Bound": lim.bound})
            for lim in r.resource_limits]))
    if r.required_compliance:
        elements.append(el.string_list(_fields(t, "RequiredCompliance"), r.required_compliance))
    wf, w = _fields(t, "ObjectiveWeights"), r.weights
    elements.append(el.collection(wf, el.properties(wf.children, {
        "Cost": w.cost, "CO2Price": w.co2_price_per_kg, "Risk": w.risk, "Concentration": w.concentration})))
    if r.exchange_rates:
        elements.append(el.collection_list(_fields(t, "ExchangeRates"), [
            el.properties(sc.EXCHANGE_RATE.children, {"Currency": c, "Rate": rate}) for c, rate in r.exchange_rates]))
    sf, s = _fields(t, "SolverPreferences"), r.solver
    preferences = el.properties(sf.children, {
        "Method": s.method, "Reps": s.reps, "Shots": s.shots, "QubitBudget": s.qubit_budget,
        "TimeLimitSeconds": s.time_limit_s, "Seed": s.seed})
    if preferences:
        elements.append(el.collection(sf, preferences))
    return el.submodel(submodel_id, "BomOptimizationRequest", contract.OPTIMIZATION_REQUEST, elements)


@paused_gc()
def catalog_objects(catalog: Catalog, namespace: str) -> list[model.Identifiable]:
    """Shells and submodels of a catalogue: one product shell (request + positions), one shell per supplier.

    Ids are ``<namespace>:aas``, ``<namespace>:asset`` and ``<namespace>:supplier:<SupplierId>``.
    """
    product_shell_id, product_asset_id = f"{namespace}:aas", f"{namespace}:asset"
    supplier_shell_prefix = f"{namespace}:supplier:"
    base = product_shell_id
    request_sm = request_submodel(catalog.request, f"{base}/sm/BomOptimizationRequest")
    position_sms = [position_submodel(p, f"{base}/sm/ComponentVariants/{p.position_id}")
                    for p in catalog.positions]
    product = model.AssetAdministrationShell(
        model.AssetInformation(model.AssetKind.TYPE, global_asset_id=product_asset_id), product_shell_id,
        id_short="Product", submodel={model.ModelReference.from_referable(sm) for sm in [request_sm, *position_sms]},
        description=model.MultiLanguageTextType({"en": catalog.product_designation})
        if catalog.product_designation else None)
    objects: list[model.Identifiable] = [product, request_sm, *position_sms]
    for s in catalog.suppliers:
        shell_id = f"{supplier_shell_prefix}{s.supplier_id}"
        sm = supplier_submodel(s, f"{shell_id}/sm/SupplierOffers")
        objects.append(model.AssetAdministrationShell(
            model.AssetInformation(model.AssetKind.INSTANCE, global_asset_id=f"{shell_id}/asset"), shell_id,
            id_short=_id_short(s.supplier_id), submodel={model.ModelReference.from_referable(sm)}))
        objects.append(sm)
    return objects


def _id_short(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    return cleaned if cleaned[:1].isalpha() else f"S_{cleaned}"
