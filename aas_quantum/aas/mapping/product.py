"""A product shell and what it references read into its Catalog: the request, the positions (from
ComponentVariants, or from an IDTA 02011 BoM), the suppliers in scope and the submodels the read relied on."""

from __future__ import annotations

import dataclasses

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import idta
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.mapping.components import Components
from aas_quantum.aas.mapping.nodes import semantic_key, version_of
from aas_quantum.aas.mapping.submodels import read_position, read_request, read_supplier
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.bulk import paused_gc
from aas_quantum.catalog import Catalog, PositionSpec
from aas_quantum.errors import BomInputError, Location
from aas_quantum.problem import product_name
from aas_quantum.sanitize import printable


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
    components = Components(env)
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
    facts = _own_facts(env, shell)
    designation = product_designation(env, shell, facts)
    given = request.product_id if request.product_id != shell.id else ""  # read_request's default is the shell id
    name = product_name(given, printable(facts.part_number), shell.asset_information.global_asset_id or "", shell.id,
                        designation=designation)
    return Catalog(request, tuple(components.completed(p) for p in positions), suppliers,
                   tuple(components.sources(hierarchies)), designation, name)


def _own_facts(env: AasEnvironment, shell: model.AssetAdministrationShell) -> idta.ComponentFacts:
    """What the product's own submodels (a Nameplate...) say of it, the contract's and the BoM's aside."""
    own = [sm for r in shell.submodel if r.key[-1].value in env.origin
           and isinstance(sm := env.objects.get_item(r.key[-1].value), model.Submodel)
           and semantic_key(sm) not in (contract.OPTIMIZATION_REQUEST, contract.COMPONENT_VARIANTS,
                                        contract.OPTIMIZATION_RESULT, *idta.HIERARCHY_SUBMODELS)]
    return idta.component_facts(own, env.origin.get(shell.id, ""))


def product_designation(env: AasEnvironment, shell: model.AssetAdministrationShell,
                        facts: idta.ComponentFacts | None = None) -> str:
    """The product's name for people: its Nameplate's product designation, else the shell's description
    or display name (English first), else "" (the ERP files then use the product name)."""
    designation = (facts or _own_facts(env, shell)).designation
    for text in (shell.description, shell.display_name):
        if designation or not text:
            continue
        designation = text.get("en") or text.get("en-US") or next(iter(text.values()), "")
    return printable(designation).strip()


def _bom_positions(env: AasEnvironment, components: Components, hierarchy: model.Submodel,
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
