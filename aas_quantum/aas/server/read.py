"""What a run reads from a server: the product shell, what it references, the component AAS its BoM needs and
the SupplierOffers in scope, gathered into an ``AasEnvironment`` as a file read gives one, so that one contract
read serves files and servers alike."""

from __future__ import annotations

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import idta
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.ids import b64
from aas_quantum.aas.mapping import assets_to_complete, semantic_key
from aas_quantum.aas.result import result_submodel_id
from aas_quantum.aas.server.client import AasClient
from aas_quantum.bulk import paused_gc


def product_shell_ids(client: AasClient) -> list[str]:
    """Every shell that references a BomOptimizationRequest submodel."""
    request_ids = {sm.id for sm in client.submodels_by_semantic_id(contract.OPTIMIZATION_REQUEST)}
    return [s.id for s in client.shells() if any(r.key[-1].value in request_ids for r in s.submodel)]


@paused_gc()
def read_environment(client: AasClient, shell_id: str, supplier_shells: list[str] | None = None) -> AasEnvironment:
    """The product shell, the submodels it references and the SupplierOffers in scope.

    Scope: every SupplierOffers submodel on the server, or those of the listed supplier shells.
    A result submodel the shell references is read too: its version is where the next one starts.
    """
    env = AasEnvironment()
    shell = client.shell(shell_id)
    env.add(shell, client.url(f"/shells/{b64(shell_id)}"))
    for reference in shell.submodel:
        sm_id = reference.key[-1].value
        submodel = client.submodel_or_none(sm_id) if sm_id == result_submodel_id(shell_id) else client.submodel(sm_id)
        if submodel is not None:  # a dangling reference to an old result is repaired by the next write
            env.add(submodel, client.url(f"/submodels/{b64(sm_id)}"))
    _add_components(client, env)
    if supplier_shells is None:
        suppliers = client.submodels_by_semantic_id(contract.SUPPLIER_OFFERS)
    else:
        suppliers = []
        for sid in supplier_shells:
            for reference in client.shell(sid).submodel:
                submodel = client.submodel(reference.key[-1].value)
                if semantic_key(submodel) == contract.SUPPLIER_OFFERS:
                    suppliers.append(submodel)
    for submodel in suppliers:
        if submodel.id not in env.origin:
            env.add(submodel, client.url(f"/submodels/{b64(submodel.id)}"))
    return env


def _component_assets(env: AasEnvironment) -> set[str]:
    """Assets whose own AAS the product's BoM needs: 02011 nodes and their SameAs alternatives, and the
    variants whose Nameplate and Technical Data must complete what the BoM leaves out (none for a product
    whose ComponentVariants state everything: no shell listing on each run)."""
    wanted: set[str] = set()
    for submodel in env.of_type(model.Submodel):
        if idta.is_hierarchy(submodel):
            wanted |= idta.referenced_assets(submodel)
        elif semantic_key(submodel) == contract.COMPONENT_VARIANTS:
            wanted |= assets_to_complete(submodel)
    return wanted


def _add_components(client: AasClient, env: AasEnvironment) -> None:
    """Read the component AAS the product points to, and those their own ComponentVariants point to
    (one shell listing, then their submodels)."""
    shells: list[model.AssetAdministrationShell] | None = None
    seen: set[str] = set()
    while wanted := _component_assets(env) - seen:
        seen |= wanted
        shells = client.shells() if shells is None else shells
        for shell in shells:
            if shell.asset_information.global_asset_id not in wanted or shell.id in env.origin:
                continue
            env.add(shell, client.url(f"/shells/{b64(shell.id)}"))
            for reference in shell.submodel:
                sm_id = reference.key[-1].value
                if sm_id not in env.origin and (submodel := client.submodel_or_none(sm_id)) is not None:
                    env.add(submodel, client.url(f"/submodels/{b64(sm_id)}"))
