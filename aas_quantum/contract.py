"""Semantic identifiers of the data contract (namespace ``urn:aas-quantum:``, versioned).

Submodels and their elements are matched by these ids, never by idShort. Element concepts are
``urn:aas-quantum:concept:<Name>:1:0``; the templates in ``submodels/`` carry a ConceptDescription
for each.
"""

from __future__ import annotations

NAMESPACE = "urn:aas-quantum"
VERSION = "1:0"


def submodel_semantic_id(name: str) -> str:
    return f"{NAMESPACE}:submodel:{name}:{VERSION}"


def concept(name: str) -> str:
    return f"{NAMESPACE}:concept:{name}:{VERSION}"


COMPONENT_VARIANTS = submodel_semantic_id("ComponentVariants")
SUPPLIER_OFFERS = submodel_semantic_id("SupplierOffers")
OPTIMIZATION_REQUEST = submodel_semantic_id("BomOptimizationRequest")
OPTIMIZATION_RESULT = submodel_semantic_id("BomOptimizationResult")

# Per-unit numeric variant attributes the built-in limits and objective refer to.
UNIT_WEIGHT = concept("UnitWeight")
PERFORMANCE = concept("Performance")
CO2E_PER_UNIT = concept("CO2ePerUnit")

# IDTA interop: a variant's weight may come from ECLASS "weight" when UnitWeight is absent.
ECLASS_WEIGHT_PREFIX = "0173-1#02-AAS627#"
