"""A Catalog written as contract shells and submodels, the inverse of the read: ``generate``, the samples and the
tests make their inputs from records this way, so what they write reads back into the same Catalog."""

from __future__ import annotations

from typing import Any

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import elements as el
from aas_quantum.aas import schema as sc
from aas_quantum.aas.mapping.nodes import field_named
from aas_quantum.bulk import paused_gc
from aas_quantum.catalog import Catalog, Offer, PositionSpec, Request, Supplier, Variant


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
    elements.append(el.collection_list(field_named(t, "Variants"), [_variant_elements(v) for v in spec.variants]))
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
        elements.append(el.string_list(field_named(t, "Certifications"), s.certifications))
    elements.append(el.collection_list(field_named(t, "Offers"), [_offer_elements(o) for o in s.offers]))
    return el.submodel(submodel_id, "SupplierOffers", contract.SUPPLIER_OFFERS, elements)


def request_submodel(r: Request, submodel_id: str) -> model.Submodel:
    t = sc.OPTIMIZATION_REQUEST
    elements = el.properties(t, {
        "ProductId": r.product_id, "Currency": r.currency, "MaxTotalWeight": r.max_total_weight_kg,
        "MinTotalPerformance": r.min_total_performance, "MaxTotalCO2e": r.max_total_co2e_kg,
        "MaxLeadTimeDays": r.max_lead_time_days, "Budget": r.budget,
        "MaxPositionsPerSupplier": r.max_positions_per_supplier, "MaxSupplierShare": r.max_supplier_share})
    if r.resource_limits:
        elements.append(el.collection_list(field_named(t, "ResourceLimits"), [
            el.properties(sc.RESOURCE_LIMIT.children,
                          {"Name": lim.name, "Attribute": lim.attribute, "Sense": lim.sense, "Bound": lim.bound})
            for lim in r.resource_limits]))
    if r.required_compliance:
        elements.append(el.string_list(field_named(t, "RequiredCompliance"), r.required_compliance))
    wf, w = field_named(t, "ObjectiveWeights"), r.weights
    elements.append(el.collection(wf, el.properties(wf.children, {
        "Cost": w.cost, "CO2Price": w.co2_price_per_kg, "Risk": w.risk, "Concentration": w.concentration})))
    if r.exchange_rates:
        elements.append(el.collection_list(field_named(t, "ExchangeRates"), [
            el.properties(sc.EXCHANGE_RATE.children, {"Currency": c, "Rate": rate}) for c, rate in r.exchange_rates]))
    sf, s = field_named(t, "SolverPreferences"), r.solver
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
