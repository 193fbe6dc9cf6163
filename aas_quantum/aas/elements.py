"""Build AAS V3 elements for contract fields: every element carries its semanticId."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas.schema import Field, walk

VALUE_TYPES: dict[str, type] = {
    "xs:string": model.datatypes.String,
    "xs:double": model.datatypes.Double,
    "xs:int": model.datatypes.Int,
    "xs:boolean": model.datatypes.Boolean,
    "xs:dateTime": model.datatypes.DateTime,
}

IEC61360_TEMPLATE = "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"


@functools.lru_cache(maxsize=4096)
def ref(iri: str) -> model.ExternalReference:
    """One shared, immutable reference per IRI: a 2,000-position package builds some 125,000 of them."""
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, iri),))


def prop(f: Field, value: Any, in_list: bool = False) -> model.Property:
    """A Property for ``f``; items of a SubmodelElementList carry no idShort (AASd-120)."""
    vt = VALUE_TYPES[f.value_type]
    return model.Property(None if in_list else f.name, vt, _typed(vt, value), semantic_id=ref(f.semantic_id))


def _typed(vt: type, value: Any) -> Any:
    if value is None or isinstance(value, vt):
        return value
    if isinstance(value, dt.datetime):
        return vt(value.year, value.month, value.day, value.hour, value.minute, value.second,
                  value.microsecond, value.tzinfo)
    return vt(value)


def collection(f: Field, elements: Iterable[model.SubmodelElement]) -> model.SubmodelElementCollection:
    return model.SubmodelElementCollection(f.name, value=list(elements), semantic_id=ref(f.semantic_id))


def string_list(f: Field, values: Iterable[str]) -> model.SubmodelElementList:
    item = f.children[0]
    return model.SubmodelElementList(
        f.name, model.Property, value=[prop(item, v, in_list=True) for v in values],
        semantic_id=ref(f.semantic_id), semantic_id_list_element=ref(item.semantic_id),
        value_type_list_element=model.datatypes.String,
    )


def collection_list(f: Field, items: Iterable[Iterable[model.SubmodelElement]]) -> model.SubmodelElementList:
    item_id = contract.concept(f.item)
    return model.SubmodelElementList(
        f.name, model.SubmodelElementCollection,
        value=[model.SubmodelElementCollection(None, value=list(els), semantic_id=ref(item_id)) for els in items],
        semantic_id=ref(f.semantic_id), semantic_id_list_element=ref(item_id),
    )


def properties(fields: tuple[Field, ...], values: dict[str, Any]) -> list[model.SubmodelElement]:
    """Properties for the fields present in ``values`` (None values are left out)."""
    return [prop(f, values[f.name]) for f in fields if values.get(f.name) is not None]


def submodel(
    submodel_id: str, id_short: str, semantic_id: str, elements: Iterable[model.SubmodelElement],
    version: str = "1", revision: str = "0",
) -> model.Submodel:
    return model.Submodel(
        submodel_id, id_short=id_short, semantic_id=ref(semantic_id), submodel_element=list(elements),
        administration=model.AdministrativeInformation(version=version, revision=revision),
    )


_IEC_TYPES = {
    "xs:string": model.DataTypeIEC61360.STRING,
    "xs:double": model.DataTypeIEC61360.REAL_COUNT,
    "xs:int": model.DataTypeIEC61360.INTEGER_COUNT,
    "xs:boolean": model.DataTypeIEC61360.BOOLEAN,
    "xs:dateTime": model.DataTypeIEC61360.TIMESTAMP,
}


def concept_description(concept_id: str, name: str, definition: str, value_type: str = "",
                        unit: str = "") -> model.ConceptDescription:
    data_type = _IEC_TYPES.get(value_type)
    if value_type == "xs:double" and unit:
        data_type = model.DataTypeIEC61360.REAL_MEASURE  # a measure must state its unit (AASc-3a-009)
    content = model.DataSpecificationIEC61360(
        preferred_name=model.PreferredNameTypeIEC61360({"en": name}),
        data_type=data_type,
        definition=model.DefinitionTypeIEC61360({"en": definition or name}),
        unit=unit or None,
    )
    return model.ConceptDescription(
        concept_id, id_short=name,
        embedded_data_specifications=[model.EmbeddedDataSpecification(ref(IEC61360_TEMPLATE), content)],
    )


def concept_descriptions(name: str, semantic_id: str, fields: tuple[Field, ...]) -> list[model.ConceptDescription]:
    """ConceptDescriptions of a template's submodel and every concept inside it (deduplicated)."""
    cds = {semantic_id: concept_description(semantic_id, name, f"{name} submodel of aas-quantum")}
    for f in walk(fields):
        if f.semantic_id not in cds:
            # money and quantities in their own unit column have no fixed unit
            unit = "" if f.unit in ("Currency", "Unit", "Currency/kg") else f.unit
            cds[f.semantic_id] = concept_description(f.semantic_id, f.name, f.description, f.value_type, unit)
    return list(cds.values())
