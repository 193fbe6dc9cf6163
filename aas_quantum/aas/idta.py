"""IDTA submodel templates an engineering BoM is modelled with, read into plain records.

- 02011 *Hierarchical Structures enabling Bills of Material* (1.0 and 1.1): the EntryNode's
  direct child ``Node`` entities are the product's positions, ``BulkCount`` their quantity, the
  Node's ``globalAssetId`` the component. Convention of this tool: a Node's ``SameAs``
  relationships name interchangeable components (alternatives); see ``submodels/README.md``.
- 02006 *Digital Nameplate* and 02003 *Technical Data*: a component's part number, manufacturer,
  designation and weight, found by IRDI (any version of the concept), so Nameplate 2.0/3.0 and
  Technical Data 1.2/2.0 read alike.

Nothing here knows the tool's own contract; ``mapping`` composes these records with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from basyx.aas import model

from aas_quantum.errors import BomInputError, Location

HIERARCHY_PREFIX = "https://admin-shell.io/idta/HierarchicalStructures/"
HIERARCHY_SUBMODELS = (f"{HIERARCHY_PREFIX}1/1/Submodel", f"{HIERARCHY_PREFIX}1/0/Submodel")
INTENTIONALLY_EMPTY = "https://admin-shell.io/SMT/General/IntentionallyEmpty"  # the templates' placeholder

# Concepts by IRDI without their version suffix: IEC CDD (Nameplate 3.0) and ECLASS (Nameplate 2.0,
# Technical Data) name the same facts.
PART_NUMBER_IRDIS = ("0112/2///61987#ABA581", "0173-1#02-AAO676", "0112/2///61987#ABA950", "0173-1#02-AAO227")
MANUFACTURER_IRDIS = ("0112/2///61987#ABA565", "0173-1#02-AAO677")
DESIGNATION_IRDIS = ("0112/2///61987#ABA567", "0173-1#02-AAW338")
WEIGHT_IRDIS = ("0173-1#02-AAS627",)  # ECLASS "weight", kg


def _key(element: model.HasSemantics) -> str:
    sid = element.semantic_id
    return sid.key[0].value if sid is not None and sid.key else ""


def irdi_base(key: str) -> str:
    """``0173-1#02-AAS627#001`` -> ``0173-1#02-AAS627``; other ids unchanged."""
    return key.rsplit("#", 1)[0] if key.count("#") >= 2 else key


def _hierarchy_name(element: model.HasSemantics) -> str:
    """``.../HierarchicalStructures/BulkCount/1/0`` -> ``BulkCount``."""
    key = _key(element)
    return key[len(HIERARCHY_PREFIX):].split("/", 1)[0] if key.startswith(HIERARCHY_PREFIX) else ""


def is_hierarchy(submodel: model.Submodel) -> bool:
    return _key(submodel) in HIERARCHY_SUBMODELS


def text_of(element: model.SubmodelElement) -> str:
    """A Property's value, or a MultiLanguageProperty's English (else first) text."""
    if isinstance(element, model.MultiLanguageProperty):
        texts = dict(element.value or {})
        return (texts.get("en") or next(iter(texts.values()), "")).strip()
    if isinstance(element, model.Property) and element.value is not None:
        return str(element.value).strip()
    return ""


def _description(referable: model.Referable) -> str:
    texts = dict(referable.description or {}) or dict(referable.display_name or {})
    return (texts.get("en") or next(iter(texts.values()), "")).strip()


@dataclass(frozen=True)
class BomNode:
    """A position of a 02011 BoM: a direct child of the EntryNode."""

    position_id: str  # the Node's idShort
    designation: str
    quantity: float
    asset_id: str  # the component's globalAssetId ("" for a co-managed entity)
    alternatives: tuple[str, ...]  # globalAssetIds of SameAs targets, in order, without asset_id
    location: Location


def bom_nodes(submodel: model.Submodel, source: str, assets_of: dict[str, str]) -> tuple[BomNode, ...]:
    """The positions of a 02011 submodel. ``assets_of`` maps an entity's model-reference path
    (``<submodel id>/<idShort path>``) to its globalAssetId, for SameAs targets in other submodels."""
    root = Location(source, submodel.id)
    arche = next((text_of(e) for e in submodel.submodel_element if _hierarchy_name(e) == "ArcheType"), "") or "Full"
    if arche == "OneUp":
        raise BomInputError("ArcheType 'OneUp' describes where the product is used, not its parts; a BoM to "
                            "optimise needs Full or OneDown", root.child("ArcheType"))
    if arche not in ("Full", "OneDown"):
        raise BomInputError(f"ArcheType must be Full, OneDown or OneUp, got {arche!r}", root.child("ArcheType"))
    entries = [e for e in submodel.submodel_element
               if isinstance(e, model.Entity) and _hierarchy_name(e) == "EntryNode"]
    if len(entries) != 1:
        raise BomInputError(f"a Hierarchical Structures submodel has exactly one EntryNode, found {len(entries)}",
                            root)
    entry = entries[0]
    at = root.child(entry.id_short or "EntryNode")
    statements = list(entry.statement)
    children = [e for e in statements if isinstance(e, model.Entity) and _hierarchy_name(e) == "Node"]
    has_part = {_last_key(r.second): r for r in statements
                if isinstance(r, model.RelationshipElement) and _hierarchy_name(r) == "HasPart"
                and _last_key(r.second) != INTENTIONALLY_EMPTY}
    if has_part:  # the relationships say which statements are parts; other entities are annotations
        names = {c.id_short for c in children}
        for target, relationship in has_part.items():
            if target not in names:
                raise BomInputError(f"HasPart points to {target!r}, which is no Node of the EntryNode",
                                    at.child(relationship.id_short or "HasPart"))
        children = [c for c in children if c.id_short in has_part]
    if not children:
        raise BomInputError("the EntryNode has no Node entities (parts)", at)
    return tuple(_node(child, at.child(child.id_short or "Node"), assets_of) for child in children)


def _last_key(reference: model.Reference | None) -> str:
    return reference.key[-1].value if reference is not None and reference.key else ""


def _node(entity: model.Entity, at: Location, assets_of: dict[str, str]) -> BomNode:
    quantity = 1.0
    alternatives: list[str] = []
    for statement in entity.statement:
        name = _hierarchy_name(statement)
        if name == "BulkCount" and isinstance(statement, model.Property) and statement.value is not None:
            value = statement.value
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
                raise BomInputError(f"BulkCount must be a number, got {value!r}", at.child("BulkCount"))
            try:
                quantity = float(value)
            except ValueError:
                raise BomInputError(f"BulkCount must be a number, got {value!r}", at.child("BulkCount")) from None
            if not quantity > 0 or quantity == float("inf"):
                raise BomInputError(f"BulkCount must be positive, got {value!r}", at.child("BulkCount"))
        elif name == "SameAs" and isinstance(statement, model.RelationshipElement):
            if _last_key(statement.second) == INTENTIONALLY_EMPTY:
                continue
            target = _asset_of(statement.second, assets_of)
            if not target:
                raise BomInputError("SameAs points to no asset: its second reference must be a global asset id or "
                                    "an entity with a globalAssetId in the inputs",
                                    at.child(statement.id_short or "SameAs"))
            alternatives.append(target)
    asset_id = entity.global_asset_id or ""
    return BomNode(entity.id_short or "", _description(entity) or entity.id_short or "", quantity, asset_id,
                   tuple(dict.fromkeys(a for a in alternatives if a != asset_id)), at)


def _asset_of(reference: model.Reference | None, assets_of: dict[str, str]) -> str:
    if reference is None:
        return ""
    if isinstance(reference, model.ExternalReference):
        return _last_key(reference)
    keys = [k.value for k in reference.key]
    return assets_of.get("/".join(keys), "")


def entity_assets(submodel: model.Submodel) -> dict[str, str]:
    """Every entity of a submodel with a globalAssetId, keyed like a ModelReference's keys joined by '/'."""
    found: dict[str, str] = {}

    def walk(elements: list[model.SubmodelElement], path: list[str]) -> None:
        for e in elements:
            if isinstance(e, model.Entity):
                here = [*path, e.id_short or ""]
                if e.global_asset_id:
                    found["/".join([submodel.id, *here])] = e.global_asset_id
                walk(list(e.statement), here)

    walk(list(submodel.submodel_element), [])
    return found


def referenced_assets(submodel: model.Submodel) -> set[str]:
    """Asset ids a 02011 submodel names (nodes and global SameAs targets): which component AAS to read."""
    assets = set(entity_assets(submodel).values())

    def walk(elements: list[model.SubmodelElement]) -> None:
        for e in elements:
            if isinstance(e, model.Entity):
                walk(list(e.statement))
            elif isinstance(e, model.RelationshipElement) and isinstance(e.second, model.ExternalReference) \
                    and _last_key(e.second) != INTENTIONALLY_EMPTY:
                assets.add(_last_key(e.second))

    walk(list(submodel.submodel_element))
    return assets


# ------------------------------------------------------------------------- nameplate / technical data


@dataclass(frozen=True)
class ComponentFacts:
    """What a component's own AAS says of it (Nameplate, Technical Data); "" / None when it does not."""

    part_number: str = ""
    manufacturer: str = ""
    designation: str = ""
    weight_kg: float | None = None


def _elements(elements: list[model.SubmodelElement]) -> Iterator[model.SubmodelElement]:
    for e in elements:
        yield e
        if isinstance(e, model.SubmodelElementCollection | model.SubmodelElementList):
            yield from _elements(list(e.value))
        elif isinstance(e, model.Entity):
            yield from _elements(list(e.statement))


def component_facts(submodels: list[model.Submodel], source: str) -> ComponentFacts:
    """Facts from a component's submodels, the first submodel (in the given order) that has one winning."""
    best: dict[str, tuple[int, str]] = {}  # fact -> (rank of its IRDI, text): article number beats order code
    weight: float | None = None
    for submodel in submodels:
        for e in _elements(list(submodel.submodel_element)):
            base, text = irdi_base(_key(e)), text_of(e)
            if not text:
                continue
            for name, irdis in (("part", PART_NUMBER_IRDIS), ("maker", MANUFACTURER_IRDIS),
                                ("designation", DESIGNATION_IRDIS)):
                if base in irdis and (name not in best or irdis.index(base) < best[name][0]):
                    best[name] = (irdis.index(base), text)
            if base in WEIGHT_IRDIS and weight is None:
                at = Location(source, submodel.id, e.id_short or "")
                try:
                    weight = float(text)
                except ValueError:
                    raise BomInputError(f"weight ({_key(e)}) must be a number in kg, got {text!r}", at) from None
                if not 0 <= weight < float("inf"):
                    raise BomInputError(f"weight must be a non-negative number, got {text!r}", at)
    found = {name: text for name, (_, text) in best.items()}
    return ComponentFacts(found.get("part", ""), found.get("maker", ""), found.get("designation", ""), weight)
