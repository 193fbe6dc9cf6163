"""Each kind of bad input gives a clear error naming where it is, and exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from aas_quantum.aas.files import write_json
from aas_quantum.aas.mapping import catalog_objects
from aas_quantum.catalog import Catalog
from aas_quantum.cli import app

import generate

NS = "urn:aas-quantum:bad"
PRODUCT_FILE = "product.json"


def write(catalog: Catalog, folder: Path) -> list[Path]:
    """Product and suppliers in separate files, as a user would have them."""
    objects = catalog_objects(catalog, NS)
    product = [o for o in objects if ":supplier:" not in o.id]
    suppliers = [o for o in objects if ":supplier:" in o.id]
    write_json(folder / PRODUCT_FILE, product)
    write_json(folder / "suppliers.json", suppliers)
    return [folder / PRODUCT_FILE, folder / "suppliers.json"]


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def first_variant(data: dict) -> dict:
    sm = next(s for s in data["submodels"] if s["idShort"] == "ComponentVariants")
    variants = next(e for e in sm["submodelElements"] if e["idShort"] == "Variants")
    return variants["value"][0]


def first_offer(data: dict) -> dict:
    sm = data["submodels"][0]
    offers = next(e for e in sm["submodelElements"] if e["idShort"] == "Offers")
    return offers["value"][0]


def element(container: dict, id_short: str) -> dict:
    return next(e for e in container["value"] if e.get("idShort") == id_short)


def drop_part_number(files: list[Path]) -> None:
    edit_json(files[0], lambda d: first_variant(d)["value"].remove(element(first_variant(d), "PartNumber")))


def price_as_text(files: list[Path]) -> None:
    def change(d: dict) -> None:
        price = element(first_offer(d), "UnitPrice")
        price.update(valueType="xs:string", value="12,50")
    edit_json(files[1], change)


def price_not_a_number(files: list[Path]) -> None:
    edit_json(files[1], lambda d: element(first_offer(d), "UnitPrice").update(value="abc"))


def duplicate_position_id(files: list[Path]) -> None:
    def change(d: dict) -> None:
        third = [s for s in d["submodels"] if s["idShort"] == "ComponentVariants"][2]
        next(e for e in third["submodelElements"] if e["idShort"] == "PositionId")["value"] = "0010"
    edit_json(files[0], change)


def submodel(data: dict, id_short: str, index: int = 0) -> dict:
    return [s for s in data["submodels"] if s["idShort"] == id_short][index]


def top_element(sm: dict, id_short: str) -> dict:
    return next(e for e in sm["submodelElements"] if e.get("idShort") == id_short)


def set_number(file_index: int, find: Callable[[dict], dict], value: str) -> Callable[[list[Path]], None]:
    """An edit writing ``value`` (a lexical xs:double such as NaN, INF, 1e400) into one element."""
    return lambda files: edit_json(files[file_index], lambda d: find(d).update(value=value))


def weight(d: dict) -> dict:
    return element(first_variant(d), "UnitWeight")


def request_limit(name: str) -> Callable[[dict], dict]:
    return lambda d: top_element(submodel(d, "BomOptimizationRequest"), name)


def co2_price(d: dict) -> dict:
    return element(top_element(submodel(d, "BomOptimizationRequest"), "ObjectiveWeights"), "CO2Price")


def cost_weight(d: dict) -> dict:
    return element(top_element(submodel(d, "BomOptimizationRequest"), "ObjectiveWeights"), "Cost")
def preference(name: str) -> Callable[[dict], dict]:
    return lambda d: element(top_element(submodel(d, "BomOptimizationRequest"), "SolverPreferences"), name)


def _offer(catalog: Catalog, **kw) -> Catalog:
    s0 = catalog.suppliers[0]
    return replace(catalog, suppliers=(replace(s0, offers=(replace(s0.offers[0], **kw), *s0.offers[1:])),
                                       *catalog.suppliers[1:]))


def _position(catalog: Catalog, **kw) -> Catalog:
    p0 = catalog.positions[0]
    return replace(catalog, positions=(replace(p0, **kw), *catalog.positions[1:]))


def _variant(catalog: Catalog, **kw) -> Catalog:
    p0 = catalog.positions[0]
    return _position(catalog, variants=(replace(p0.variants[0], **kw), *p0.variants[1:]))


# (id, catalogue change, file edit, expected message fragments)
CASES = [
    ("missing-required-element", None, drop_part_number, ["missing required element PartNumber",
                                                          "ComponentVariants/0010", "Variants[0].PartNumber"]),
    ("wrong-value-type", None, price_as_text, ["wrong value type", "UnitPrice", "xs:string", "Offers[0]"]),
    ("non-numeric-price", None, price_not_a_number, ["suppliers.json", "not a valid AAS JSON file"]),
    ("negative-price", lambda c: _offer(c, unit_price=-3.0), None, ["negative", "UnitPrice", "Offers[0]"]),
    ("unknown-currency", lambda c: _offer(c, currency="EUX"), None, ["unknown currency 'EUX'", "Offers[0].Currency"]),
    ("mixed-currency-no-rate", lambda c: _offer(c, currency="USD"), None,
     ["price in USD", "no exchange rate", "SupplierOffers"]),
    ("part-offered-by-no-supplier", lambda c: _variant(c, part_number="FRM-UNKNOWN"), None,
     ["'FRM-UNKNOWN' is offered by no supplier", "Variants[0].PartNumber"]),
    ("no-option-after-pruning", lambda c: replace(c, request=replace(c.request, max_lead_time_days=1)), None,
     ["position '0010' has no admissible option after pruning", "lead time"]),
    ("duplicate-position-id", None, duplicate_position_id, ["duplicate PositionId '0010'"]),
    ("risk-out-of-range", lambda c: replace(c, suppliers=(replace(c.suppliers[0], risk_score=1.5),
                                                         *c.suppliers[1:])), None, ["RiskScore must be within 0..1"]),
    ("requires-unknown-part", lambda c: _variant(c, requires=("NOPE-1",)), None,
     ["Requires names PartNumber 'NOPE-1'", "Variants[0].Requires"]),
    ("non-positive-quantity", lambda c: _position(c, quantity=0.0), None, ["Quantity must be positive",
                                                                          "ComponentVariants/0010"]),
    ("duplicate-offer", lambda c: replace(c, suppliers=(replace(c.suppliers[0], offers=(
        c.suppliers[0].offers[0], c.suppliers[0].offers[0])), *c.suppliers[1:])), None, ["offers PartNumber", "twice"]),
    ("bad-supplier-share", lambda c: replace(c, request=replace(c.request, max_supplier_share=1.5)), None,
     ["MaxSupplierShare must be in (0, 1]"]),
    # NaN passes every comparison (a NaN weight satisfied any limit) and infinity breaks the solvers
    ("nan-weight", None, set_number(0, weight, "NaN"),
     ["UnitWeight must be a finite number", "ComponentVariants/0010", "Variants[0].UnitWeight"]),
    ("nan-lead-time", None, set_number(1, lambda d: element(first_offer(d), "LeadTimeDays"), "NaN"),
     ["LeadTimeDays must be a finite number", "Offers[0].LeadTimeDays"]),
    ("nan-budget", None, set_number(0, request_limit("MaxTotalWeight"), "NaN"),
     ["MaxTotalWeight must be a finite number", "BomOptimizationRequest"]),
    ("infinite-budget", lambda c: replace(c, request=replace(c.request, budget=1000.0)),
     set_number(0, request_limit("Budget"), "INF"), ["Budget must be a finite number"]),
    ("huge-quantity", None, set_number(0, lambda d: top_element(submodel(d, "ComponentVariants"), "Quantity"),
                                       "1e400"), ["Quantity must be a finite number", "ComponentVariants/0010"]),
    ("nan-co2-price", None, set_number(0, co2_price, "NaN"),
     ["CO2Price must be a finite number", "ObjectiveWeights.CO2Price"]),
    ("negative-weight", None, set_number(0, weight, "-0.5"), ["UnitWeight must not be negative",
                                                              "Variants[0].UnitWeight"]),
    # a negative weight maximises its term: the dearest selection was reported optimal
    ("negative-cost-weight", None, set_number(0, cost_weight, "-1"),
     ["Cost must be a non-negative number, got -1", "BomOptimizationRequest", "ObjectiveWeights.Cost"]),
    ("negative-budget", lambda c: replace(c, request=replace(c.request, budget=-5.0)), None,
     ["Budget must be a non-negative number, got -5", "element Budget"]),
    # finite, but beyond what the solvers compute with once multiplied (HiGHS: no solution, or numpy's words)
    ("huge-price", None, set_number(1, lambda d: element(first_offer(d), "UnitPrice"), "1e300"),
     ["beyond the 1e+15 the solvers compute with", "suppliers.json", "Offers[0].UnitPrice", "position '0010'"]),
    ("huge-weight", None, set_number(0, weight, "1e300"),
     ["beyond the 1e+15", "ComponentVariants/0010", "element Variants[0]", "MaxTotalWeight"]),
    ("huge-co2-price", None, set_number(0, co2_price, "1e300"), ["beyond the 1e+15", "element ObjectiveWeights"]),
    ("negative-concentration", None, set_number(0, lambda d: element(top_element(
        submodel(d, "BomOptimizationRequest"), "ObjectiveWeights"), "Concentration"), "-4"),
     ["Concentration must be a non-negative number", "element ObjectiveWeights.Concentration"]),
    # refused when reading (validate too), at the element; the run named only the option, no file or submodel
    ("negative-reps", None, set_number(0, preference("Reps"), "-1"),
     ["Reps must be a number >= 1 and <= 100, got -1", "BomOptimizationRequest", "element SolverPreferences.Reps"]),
    ("huge-reps", None, set_number(0, preference("Reps"), "2147483647"),  # QAOA/VQE never reached the time limit
     ["Reps must be a number >= 1 and <= 100", "element SolverPreferences.Reps"]),
    ("huge-shots", None, set_number(0, preference("Shots"), "2147483647"),  # a 16 GB draw
     ["Shots must be a number >= 1 and <= 10000000", "element SolverPreferences.Shots"]),
    ("zero-time-limit", None, set_number(0, preference("TimeLimitSeconds"), "0"),
     ["TimeLimitSeconds must be a number > 0", "element SolverPreferences.TimeLimitSeconds"]),
    ("unknown-method", None, set_number(0, preference("Method"), "quantumfoo"),
     ["unknown solver 'quantumfoo'", "product.json", "element SolverPreferences.Method"]),
    ("two-requests", None, lambda files: edit_json(files[0], two_requests),
     ["references 2 BomOptimizationRequest submodels", "urn:aas-quantum:bad:aas/sm/BomOptimizationRequest",
      "urn:aas-quantum:bad:aas/sm/SecondRequest"]),
]


def two_requests(d: dict) -> None:
    second = json.loads(json.dumps(submodel(d, "BomOptimizationRequest")))
    second["id"] = "urn:aas-quantum:bad:aas/sm/SecondRequest"
    d["submodels"].append(second)
    d["assetAdministrationShells"][0]["submodels"].append(
        {"type": "ModelReference", "keys": [{"type": "Submodel", "value": second["id"]}]})


@pytest.mark.parametrize(("case", "change", "edit", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_reported(cli, tmp_path: Path, case, change, edit, expected):
    files = write(change(generate.drone()) if change else generate.drone(), tmp_path)
    if edit:
        edit(files)
    before = {p: p.read_bytes() for p in files}
    result = cli.invoke(app, ["optimize", *map(str, files), "--solver", "exact", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert {p: p.read_bytes() for p in files} == before, "inputs were modified"
    assert not (tmp_path / "out").exists(), "a failed run wrote outputs"


def test_file_level_errors(cli, tmp_path: Path):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    files = write(generate.drone(), tmp_path)
    empty = tmp_path / "shell-only.json"  # no product, and nothing a supplier or component maker checks
    empty.write_text(json.dumps({"assetAdministrationShells": [{
        "id": "urn:aas-quantum:bad:other", "modelType": "AssetAdministrationShell",
        "assetInformation": {"assetKind": "Instance", "globalAssetId": "urn:aas-quantum:bad:other:asset"}}]}))
    cases = [
        ([str(tmp_path / "missing.aasx")], "file not found"),
        ([str(garbage)], "not a valid AAS JSON file"),
        ([str(text)], "unsupported file type '.txt'"),
        ([str(empty)], "no shell references a BomOptimizationRequest"),  # a supplier file alone is checked
        ([str(files[0]), str(files[0]), str(files[1])], "duplicate identifier"),
        ([str(files[0])], "is offered by no supplier"),
    ]
    for args, fragment in cases:
        result = cli.invoke(app, ["validate", *args])
        assert result.exit_code == 2, (args, result.output)
        assert fragment in " ".join(result.output.split()), (fragment, result.output)
