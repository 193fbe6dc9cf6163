"""The submodel templates of the data contract, generated from ``schema`` (AAS V3.0 JSON)."""

from __future__ import annotations

from pathlib import Path

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import elements as el
from aas_quantum.aas.files import write_json
from aas_quantum.aas.schema import TEMPLATES, Field


def _template_element(f: Field) -> model.SubmodelElement:
    if f.is_string_list:
        return el.string_list(f, [f.children[0].example] if f.children[0].example else [])
    if f.is_list:
        return el.collection_list(f, [[_template_element(c) for c in f.children]])
    if f.is_collection:
        return el.collection(f, [_template_element(c) for c in f.children])
    if f.value_type == "reference":
        return model.ReferenceElement(f.name, semantic_id=el.ref(f.semantic_id))
    return el.prop(f, f.example or None)


def template(name: str) -> tuple[model.Submodel, list[model.ConceptDescription]]:
    semantic_id, fields = TEMPLATES[name]
    submodel = model.Submodel(
        f"{contract.NAMESPACE}:template:{name}:{contract.VERSION}", id_short=name,
        semantic_id=el.ref(semantic_id), kind=model.ModellingKind.TEMPLATE,
        submodel_element=[_template_element(f) for f in fields],
        administration=model.AdministrativeInformation(version="1", revision="0"),
    )
    return submodel, el.concept_descriptions(name, semantic_id, fields)


def write_templates(out_dir: Path) -> list[Path]:
    """One ``<Name>.json`` AAS environment (submodel + ConceptDescriptions) per template."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TEMPLATES:
        submodel, cds = template(name)
        path = out_dir / f"{name}.json"
        write_json(path, [submodel, *cds])
        paths.append(path)
    return paths
