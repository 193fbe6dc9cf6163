"""Component AAS completing what a BoM leaves out: a variant without manufacturer, designation or weight takes
them from its component's Nameplate and Technical Data, so a BoM need not repeat what each part's AAS states."""

from __future__ import annotations

import dataclasses

from basyx.aas import model
from basyx.aas.util import traversal

from aas_quantum import contract
from aas_quantum.aas import idta
from aas_quantum.aas.files import AasEnvironment
from aas_quantum.aas.mapping.nodes import semantic_key, version_of
from aas_quantum.aas.mapping.submodels import read_position
from aas_quantum.catalog import PositionSpec, SourceSubmodel, Variant
from aas_quantum.errors import BomInputError, Location


class Components:
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
    can give (what ``Components.completed`` fills in): only those components' AAS need reading."""
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
