"""Contract submodels <-> catalogue records: a product's shell read into a Catalog, saved results read and
rechecked, a Catalog written back as shells and submodels; callers import from here, not from the modules."""

from aas_quantum.aas.mapping.product import (
    assets_to_complete,
    catalog_objects,
    check_result,
    position_submodel,
    product_shell,
    product_shells,
    read_catalog,
    read_result,
    saved_run,
    semantic_key,
    submodels_with,
)

__all__ = [
    "assets_to_complete",
    "catalog_objects",
    "check_result",
    "position_submodel",
    "product_shell",
    "product_shells",
    "read_catalog",
    "read_result",
    "saved_run",
    "semantic_key",
    "submodels_with",
]
