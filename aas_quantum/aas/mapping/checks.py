"""The contract submodels of inputs that hold no product, each checked on its own: a supplier checks their
SupplierOffers file, a component maker their ComponentVariants or IDTA 02011 BoM, before any product uses them."""

from __future__ import annotations

from dataclasses import dataclass

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import idta
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.mapping.nodes import semantic_key
from aas_quantum.aas.mapping.submodels import read_position, read_supplier
from aas_quantum.errors import BomInputError
from aas_quantum.problem import check_position, check_supplier

# what a submodel is called in messages, by semanticId, in the order they are reported
KINDS = {
    contract.SUPPLIER_OFFERS: "SupplierOffers",
    contract.COMPONENT_VARIANTS: "ComponentVariants",
    **{semantic_id: "Hierarchical Structures" for semantic_id in idta.HIERARCHY_SUBMODELS},
}


@dataclass(frozen=True)
class SubmodelCheck:
    """One submodel checked: its kind, id and the first defect found in it (None when it has none)."""

    kind: str
    submodel_id: str
    error: BomInputError | None


def check_submodels(env: AasEnvironment) -> list[SubmodelCheck]:
    """Every SupplierOffers, ComponentVariants and Hierarchical Structures submodel of ``env``, read by the
    same readers and rules a product's run uses (those that need the product's request excepted). A defect
    stops only its own submodel's check, so one run reports each defective submodel."""
    submodels = [sm for sm in env.of_type(model.Submodel) if semantic_key(sm) in KINDS]
    order = list(dict.fromkeys(KINDS.values()))
    submodels.sort(key=lambda sm: (order.index(KINDS[semantic_key(sm)]), sm.id))
    assets_of: dict[str, str] = {}
    for sm in submodels:
        if idta.is_hierarchy(sm):
            assets_of.update(idta.entity_assets(sm))
    checks = []
    for sm in submodels:
        key, source = semantic_key(sm), env.origin.get(sm.id, "")
        try:
            if key == contract.SUPPLIER_OFFERS:
                check_supplier(read_supplier(sm, source))
            elif key == contract.COMPONENT_VARIANTS:
                check_position(read_position(sm, source))
            else:
                idta.bom_nodes(sm, source, assets_of)
        except BomInputError as exc:
            checks.append(SubmodelCheck(KINDS[key], sm.id, exc))
            continue
        checks.append(SubmodelCheck(KINDS[key], sm.id, None))
    return checks
