"""The AAS edge: environments read from and written to AASX / JSON / XML files and AAS servers, the
data contract's submodels mapped to catalogue records, and the result submodel built from a run."""

from aas_quantum.aas.elements import ref
from aas_quantum.aas.files import AasEnvironment, AasJsonEncoder, read_files, write_aasx, write_json
from aas_quantum.aas.ids import b64, unb64
from aas_quantum.aas.result import next_version, output_objects, output_stem, result_submodel, result_submodel_id
from aas_quantum.aas.templates import write_templates

__all__ = [
    "AasEnvironment",
    "AasJsonEncoder",
    "b64",
    "next_version",
    "output_objects",
    "output_stem",
    "read_files",
    "ref",
    "result_submodel",
    "result_submodel_id",
    "unb64",
    "write_aasx",
    "write_json",
    "write_templates",
]
