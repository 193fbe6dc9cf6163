"""What a run is asked to do: the product, the method and its parameters, the outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from aas_quantum import erp
from aas_quantum.catalog import Catalog, SolverPreferences
from aas_quantum.errors import BomInputError
from aas_quantum.problem import REQUEST_NUMBERS, WEIGHT_NUMBERS, number_fault
from aas_quantum.solvers import DEFAULT_METHOD, SolveOptions, check_value, make_options

# Every SolverPreferences field but the method has a SolveOptions field of the same name.
_PREFERENCE_FIELDS = tuple(f.name for f in fields(SolverPreferences) if f.name != "method")


@dataclass(frozen=True)
class ErpOutput:
    """ERP files to write next to the result, loaded before any solving so a bad profile fails early."""

    profiles: tuple[erp.Profile, ...]
    formats: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # a format a profile does not have (json without [[payloads]]), to tell the user

    @classmethod
    def load(cls, names: str, formats: str, settings: Sequence[str] = ()) -> ErpOutput:
        """``names``: comma-separated profile names or .toml files; ``settings``: KEY=VALUE overrides."""
        profiles = [erp.load_profile(n, erp.erp_overrides(Path(n).stem, settings))
                    for n in (n.strip() for n in names.split(",")) if n]
        checked = erp.check_formats([f.strip() for f in formats.split(",") if f.strip()])
        return cls(tuple(profiles), checked, tuple(erp.skipped_formats(profiles, checked)))

    def targets(self, out: Path, stem: str) -> list[Path]:
        return erp.export_targets(list(self.profiles), self.formats, out, stem)


_WEIGHTS = tuple(WEIGHT_NUMBERS)
# a number's field -> the rule its element of the request submodel obeys
_RULES = {name: rule for name, (_, rule) in (REQUEST_NUMBERS | WEIGHT_NUMBERS).items()}


def _check_override(name: str, value: float | None, label: str) -> None:
    if value is not None and (fault := number_fault(value, _RULES[name])):
        raise BomInputError(f"{label} must be {fault}, got {value:g}")


@dataclass(frozen=True)
class RequestOverrides:
    """What a caller changes of the request submodel for one run: limits (an operation's ``Budget``
    input), objective weights, excluded suppliers (a batch scenario) and the lot size (``--lot-size``)."""

    budget: float | None = None
    max_total_weight_kg: float | None = None
    max_lead_time_days: float | None = None
    max_total_co2e_kg: float | None = None
    cost: float | None = None
    co2_price_per_kg: float | None = None
    risk: float | None = None
    concentration: float | None = None
    exclude_suppliers: tuple[str, ...] = ()
    lot_size: float | None = None  # products to buy for (the request's LotSize otherwise)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name in _RULES:
                _check_override(f.name, getattr(self, f.name), f"override {f.name}")

    @classmethod
    def of(cls, values: Mapping[str, Any], label: Callable[[str], str] = "override {}".format) -> RequestOverrides:
        """From plain values (a job's JSON, a scenario table), each held to the rule the request submodel's
        element obeys when read from a file; ``label`` names a key as its caller knows it (a JSON field, a
        TOML key), so a message says where the value came from rather than blaming the server's request."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise BomInputError(f"unknown override {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        given: dict[str, Any] = {}
        for name, value in values.items():
            if name == "exclude_suppliers":
                if isinstance(value, str) or not isinstance(value, Sequence) or \
                        not all(isinstance(v, str) for v in value):
                    raise BomInputError(f"{label(name)} must be a list of SupplierIds, got {value!r}")
                given[name] = tuple(value)
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise BomInputError(f"{label(name)} must be a number, got {value!r}")
            else:
                given[name] = float(value)
                _check_override(name, given[name], label(name))
        return cls(**given)

    def to_json(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v, tuple) else v) for f in fields(self)
                if (v := getattr(self, f.name)) not in (None, ())}

    def apply(self, catalog: Catalog) -> Catalog:
        limits = {f.name: v for f in fields(self) if f.name not in (*_WEIGHTS, "exclude_suppliers")
                  and (v := getattr(self, f.name)) is not None}
        weights = {name: v for name in _WEIGHTS if (v := getattr(self, name)) is not None}
        request = replace(catalog.request, **limits)
        if weights:
            request = replace(request, weights=replace(request.weights, **weights))
        unknown = sorted(set(self.exclude_suppliers) - {s.supplier_id for s in catalog.suppliers})
        if unknown:
            raise BomInputError(f"excluded supplier(s) {', '.join(unknown)} are not in scope; in scope: "
                                + ", ".join(s.supplier_id for s in catalog.suppliers))
        suppliers = tuple(s for s in catalog.suppliers if s.supplier_id not in self.exclude_suppliers)
        return replace(catalog, request=request, suppliers=suppliers)


@dataclass(frozen=True)
class RunRequest:
    """One product's run.

    The merge rule, one place for all callers: a parameter given here wins over the product's
    ``SolverPreferences`` (its request submodel), which wins over the ``SolveOptions`` defaults.
    Parameters given here are checked against the method (a parameter it does not read is an
    error); the request submodel's preferences are not, since they serve any method.
    """

    product: str | None = None  # product shell id; None: the repository's only product
    method: str | None = None  # None: the request submodel's preference, else DEFAULT_METHOD
    parameters: Mapping[str, Any] = field(default_factory=dict)  # SolveOptions fields, typed
    out: Path = Path("out")  # result AASX/JSON and ERP files
    erp: ErpOutput | None = None
    plot: Path | None = None  # the run's figure (.png, .svg, .html), written with the local outputs
    plot_each: bool = False  # ``plot`` is shared by several products: each one's file stem is added to it
    dry_run: bool = False  # compute and show: nothing is written, locally or to the server
    run_id: str | None = None  # given by a caller that tracks jobs; a new one otherwise
    overrides: RequestOverrides = RequestOverrides()

    def solve_plan(self, preferences: SolverPreferences) -> tuple[str, SolveOptions]:
        """The method and options of this run, by the merge rule."""
        method = self.method or preferences.method or DEFAULT_METHOD
        preferred = {name: value for name in _PREFERENCE_FIELDS
                     if (value := getattr(preferences, name)) is not None}
        for name, value in preferred.items():
            check_value(name, value, f"the request's SolverPreferences {name}")
        return method, make_options(method, self.parameters, SolveOptions().with_(**preferred))
