"""The ``Optimize`` Operation on a product's AAS and the ``OperationVariable[]`` it exchanges.

BaSyx Java delegates ``POST .../submodel-elements/Optimize/invoke`` to the URL in the Operation's
``invocationDelegation`` qualifier: it POSTs the input variables as a JSON array of
``{"value": <SubmodelElement>}`` and waits for such an array back. This module turns those into a
``JobSpec`` and a finished (or not yet finished) job into output variables, and builds the
Operation element ``install-operation`` writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from basyx.aas import model

from aas_quantum import contract
from aas_quantum.aas import b64, ref, result_submodel_id
from aas_quantum.aas.server import AasClient, ServerSettings, install_submodel
from aas_quantum.config import parse_url
from aas_quantum.errors import BomInputError, ConfigError
from aas_quantum.service.jobs import Job, JobSpec, JobState
from aas_quantum.solvers import check_value

OPERATIONS_SUBMODEL = contract.submodel_semantic_id("BomOptimizationOperations")
DELEGATION_QUALIFIER = "invocationDelegation"


@dataclass(frozen=True)
class Variable:
    """One operation variable: idShort, XSD type, what it means."""

    name: str
    value_type: str
    description: str


INPUTS = (
    Variable("ProductId", "xs:string", "id of the product's AAS (the shell carrying the BomOptimizationRequest); "
                                      "required: the delegated call does not say which AAS it was invoked on"),
    Variable("Solver", "xs:string", "qaoa, vqe, hybrid, exact, greedy, anneal or auto (empty: the request's "
                                    "SolverPreferences)"),
    Variable("TimeLimit", "xs:double", "seconds per solver (empty: the request's)"),
    Variable("Budget", "xs:double", "budget for this run, in the request currency (overrides the request's)"),
    Variable("MaxTotalWeight", "xs:double", "weight limit for this run, kg"),
    Variable("MaxLeadTimeDays", "xs:double", "lead-time limit for this run, days"),
)
OUTPUTS = (
    Variable("Status", "xs:string", "queued, running, done, infeasible, failed, cancelled or timeout (done: "
                                    "see the figures)"),
    Variable("JobId", "xs:string", "the job: GET /jobs/{JobId} on the service follows it"),
    Variable("ResultSubmodelId", "xs:string", "id of the BomOptimizationResult submodel the run writes"),
    Variable("TotalCost", "xs:double", "total cost of the chosen selection (done only)"),
    Variable("ImprovementVsGreedyPercent", "xs:double", "improvement of the objective over the greedy baseline"),
    Variable("GapToOptimumPercent", "xs:double", "gap to the proven optimum (exact baseline)"),
    Variable("Message", "xs:string", "why a run failed, or the run's outcome in words"),
)
_LIMITS = {"Budget": "budget", "MaxTotalWeight": "max_total_weight_kg", "MaxLeadTimeDays": "max_lead_time_days"}


def _arguments(body: Any) -> list[Any]:
    """The variables of a delegation body (a bare array, as BaSyx Java sends) or of an AAS API
    ``OperationRequest`` (``{"inputArguments": [...]}``)."""
    if isinstance(body, Mapping):
        body = body.get("inputArguments", [])
    if not isinstance(body, list):
        raise BomInputError("expected a JSON array of OperationVariable ({\"value\": <SubmodelElement>})")
    return body


def job_spec(body: Any, origin: str = "operation") -> JobSpec:
    """The job the input variables ask for; an unknown or mistyped variable is named."""
    values: dict[str, str] = {}
    seen: dict[str, int] = {}  # idShort -> its position
    for i, item in enumerate(_arguments(body)):
        element = item.get("value") if isinstance(item, Mapping) else None
        if not isinstance(element, Mapping) or not isinstance(element.get("idShort"), str):
            raise BomInputError(f"input variable [{i}] is not {{\"value\": <SubmodelElement with an idShort>}}")
        value = element.get("value")
        if value is not None and not isinstance(value, str | int | float):
            raise BomInputError(f"input variable {element['idShort']}: value must be a string, got {value!r}")
        name = element["idShort"]
        if name in seen:  # which one was meant is unknowable: the last must not win silently
            raise BomInputError(f"input variable {name} is given twice (variables [{seen[name]}] and [{i}])")
        seen[name] = i
        if value not in (None, ""):
            values[element["idShort"]] = str(value)
    known = {v.name for v in INPUTS}
    unknown = sorted(set(values) - known)
    if unknown:
        raise BomInputError(f"unknown input variable {', '.join(unknown)}; inputs: {', '.join(sorted(known))}")
    if "ProductId" not in values:
        raise BomInputError("input variable ProductId (the product's AAS id) is required")

    def number(name: str) -> float:
        try:
            number = float(values[name])
        except ValueError:
            raise BomInputError(f"input variable {name} must be a number, got {values[name]!r}") from None
        if not 0 <= number < float("inf"):
            raise BomInputError(f"input variable {name} must be a non-negative number, got {values[name]!r}")
        return number

    parameters = {"time_limit_s": number("TimeLimit")} if "TimeLimit" in values else {}
    if parameters:  # 0 s is refused now, not by the solver at run time
        check_value("time_limit_s", parameters["time_limit_s"], "input variable TimeLimit")
    limits = {field: number(name) for name, field in _LIMITS.items() if name in values}
    return JobSpec(product=values["ProductId"], method=values.get("Solver"), parameters=parameters, overrides=limits,
                   origin=origin)


_DURATION = re.compile(r"P(?!$)(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?|\.\d+)S)?)?")


def timeout_seconds(text: Any) -> float:
    """The seconds of an AAS ``clientTimeoutDuration`` (xs:duration). Years and months are refused: how long
    they are depends on the calendar, and a caller's timeout has to mean one length of time."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BomInputError(f"clientTimeoutDuration must be a positive xs:duration in days, hours, minutes and "
                            f"seconds (e.g. PT60S, PT10M, P1DT2H), got {text!r}")
    days, hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if not 0 < total < float("inf"):
        raise BomInputError(f"clientTimeoutDuration must be longer than 0 s, got {text!r}")
    return total


def from_value_only(arguments: Any) -> list[dict[str, Any]]:
    """The ``OperationVariable[]`` a value-only ``inputArguments`` object (idShort -> value) stands for."""
    if not isinstance(arguments, Mapping):
        raise BomInputError("inputArguments of a value-only request must be an object of idShort -> value, got "
                            f"{type(arguments).__name__}")
    return [{"value": {"modelType": "Property", "idShort": name, "value": value}} for name, value in arguments.items()]


def value_only(variables: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Output variables as their value-only form: an ``xs:double`` as a JSON number, an unset one left out."""
    values: dict[str, Any] = {}
    for variable in variables:
        element = variable["value"]
        if element.get("value") is not None:
            values[element["idShort"]] = (float(element["value"]) if element.get("valueType") == "xs:double"
                                          else element["value"])
    return values


def _property(name: str, value_type: str, value: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"modelType": "Property", "idShort": name, "valueType": value_type}
    if value is not None:
        element["value"] = f"{value:.6g}" if isinstance(value, float) else str(value)
    return element


def output_variables(job: Job) -> list[dict[str, Any]]:
    """The output variables of a job in whatever state it is."""
    outcome = job.outcome or {}
    kpis = outcome.get("kpis") or {}
    state = job.state.value
    if job.state is JobState.DONE:  # the run's own status: a solution, or infeasible / failed
        run_status = outcome.get("status")
        state = "done" if run_status in ("optimal", "feasible") else str(run_status or "failed")
    message = job.error or (f"{outcome['status']} ({outcome.get('solver', {}).get('method', '')})"
                            if "kpis" in outcome else "")
    values = {
        "Status": state, "JobId": job.job_id,
        "ResultSubmodelId": result_submodel_id(job.spec.product) if job.spec.product else "",
        "TotalCost": kpis.get("total_cost"), "ImprovementVsGreedyPercent": kpis.get("improvement_vs_greedy_pct"),
        "GapToOptimumPercent": kpis.get("gap_to_optimum_pct"), "Message": message,
    }
    return [{"value": _property(v.name, v.value_type, values[v.name])} for v in OUTPUTS]


# ---------------------------------------------------------------------------- the Operation element


def _variables(variables: Sequence[Variable]) -> list[model.SubmodelElement]:
    types = {"xs:string": model.datatypes.String, "xs:double": model.datatypes.Double}
    return [model.Property(v.name, types[v.value_type], None, semantic_id=ref(contract.concept(f"Optimize{v.name}")),
                           description=model.MultiLanguageTextType({"en": v.description})) for v in variables]


def operations_submodel(shell_id: str, service_url: str) -> model.Submodel:
    """The submodel holding the ``Optimize`` Operation, delegated to ``service_url``."""
    operation = model.Operation(
        "Optimize", input_variable=_variables(INPUTS), output_variable=_variables(OUTPUTS),
        semantic_id=ref(contract.concept("Optimize")),
        qualifier=[model.Qualifier(DELEGATION_QUALIFIER, model.datatypes.String, service_url)],
        description=model.MultiLanguageTextType({"en": "optimise this product's BoM (aas-quantum); answers at "
                                                       "once with a job id when the run takes longer"}))
    return model.Submodel(operations_submodel_id(shell_id), id_short="BomOptimizationOperations",
                          semantic_id=ref(OPERATIONS_SUBMODEL), submodel_element=[operation])


def operations_submodel_id(shell_id: str) -> str:
    return f"{shell_id}/sm/BomOptimizationOperations"


def install_operation(settings: ServerSettings, shell_id: str, service_url: str) -> tuple[bool, str]:
    """Write the ``Optimize`` Operation into ``shell_id``'s AAS: (whether anything changed, where it is). The
    URL is refused with credentials or a query: anyone who can read the shell reads it."""
    parts = parse_url(service_url, ("http", "https"), "--service-url", "http(s)://host:port/operations/optimize")
    if parts.username or parts.password or parts.query:
        raise ConfigError("--service-url must carry no credentials or query: the AAS is readable by anyone who can "
                          "read the shell (trust the BaSyx host by address: [service] trusted_networks)")
    submodel = operations_submodel(shell_id, service_url)
    with AasClient(settings) as client:
        client.shell(shell_id)  # a wrong shell id fails here, before anything is written
        changed = install_submodel(client, shell_id, submodel)
        return changed, client.url(f"/submodels/{b64(submodel.id)}")
