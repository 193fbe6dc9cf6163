"""Contract submodels <-> catalogue records: a product's shell read into a Catalog, saved results read and
rechecked, a Catalog written back as shells and submodels; callers import from here, not from the modules."""

from aas_quantum.aas.mapping.checks import SubmodelCheck, check_submodels
from aas_quantum.aas.mapping.components import assets_to_complete
from aas_quantum.aas.mapping.nodes import semantic_key
from aas_quantum.aas.mapping.product import product_shell, product_shells, read_catalog, submodels_with
from aas_quantum.aas.mapping.saved import SavedPick, check_result, read_result, saved_run
from aas_quantum.aas.mapping.write import catalog_objects, position_submodel

__all__ = [
    "SavedPick",
    "SubmodelCheck",
    "assets_to_complete",
    "catalog_objects",
    "check_result",
    "check_submodels",
    "position_submodel",
    "product_shell",
    "product_shells",
    "read_catalog",
    "read_result",
    "saved_run",
    "semantic_key",
    "submodels_with",
]
