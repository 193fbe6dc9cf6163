"""ERP export engine: one profile file per ERP says which sheets and columns to write and where
each value comes from; this package renders them and writes CSV, XLSX and JSON.

A profile (TOML, see ``erp_export/README.md``) has sheets; a sheet has a row source (``bom``: one
row, ``lines``: one per position, ``alternatives``: one per option not chosen) and columns. A
column takes its value from ``source`` (``bom.total_cost``, ``line.part_number``, ``alt.cost_delta``,
``context.plant``), a literal ``value`` or a ``template`` (``"{bom.product_key}_{line.position_key}"``),
optionally through a code ``map`` (UN/CEFACT unit -> ERP unit) and a ``format``, then is typed
(string, integer, decimal, date, datetime, boolean). Everything is rendered before anything is
written, so a bad profile or missing data leaves no partial export.

A profile's ``[[payloads]]`` turn two of its sheets into OData deep-insert request bodies (``json``
format): one entity per row of the header sheet, with the item sheet's rows of the same group under
its navigation property.

Layers, each importing only those before it: ``document`` (what a run says), ``profile`` (the TOML files),
``tables`` (a profile rendered on a document), ``writers`` and ``rapidstart`` (files), ``plan`` (the export as
a whole). Callers import from the package, not from its modules.
"""

from aas_quantum.erp.document import FORMATS, ErpDocument, erp_document
from aas_quantum.erp.plan import (
    ExportPlan,
    check_formats,
    export,
    export_paths,
    export_targets,
    import_notes,
    plan_export,
    skipped_formats,
    write_export,
)
from aas_quantum.erp.profile import Column, Profile, Sheet, erp_overrides, load_profile
from aas_quantum.erp.tables import Table, render, spend
from aas_quantum.erp.writers import SUMMARY_ROWS

__all__ = [
    "FORMATS", "SUMMARY_ROWS", "Column", "ErpDocument", "ExportPlan", "Profile", "Sheet", "Table", "check_formats",
    "erp_document", "erp_overrides", "export", "export_paths", "export_targets", "import_notes", "load_profile",
    "plan_export", "render", "skipped_formats", "spend", "write_export",
]
