"""``validate`` on a file without a product: a supplier's SupplierOffers, a component maker's ComponentVariants
or IDTA 02011 BoM, each cut out of a sample with the BaSyx SDK, checked on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import write_aas_json_file

from aas_quantum import contract
from aas_quantum.aas import idta
from aas_quantum.cli import app

from tests.support import SAMPLES

pytestmark = pytest.mark.timeout(120)


def _sample(name: str) -> model.DictIdentifiableStore:
    store: model.DictIdentifiableStore = model.DictIdentifiableStore()
    with aasx.AASXReader(str(SAMPLES / name)) as reader:
        reader.read_into(store, aasx.DictSupplementaryFileContainer())
    return store


def _submodels(store: model.DictIdentifiableStore, *semantic_ids: str) -> list[model.Submodel]:
    return sorted(
        (
            o
            for o in store
            if isinstance(o, model.Submodel)
            and o.semantic_id is not None
            and o.semantic_id.key[0].value in semantic_ids
        ),
        key=lambda sm: sm.id,
    )


def _write_json(path: Path, objects: list[model.Submodel]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        write_aas_json_file(fh, model.DictIdentifiableStore(objects))
    return path


def _checked(output: str, kind: str) -> tuple[int, list[str], int]:
    """(count, ids, errors) of the line saying what was checked of ``kind``."""
    found = re.search(rf"checked (\d+) {kind} submodels? \((.*?)\), (\d+) errors?", " ".join(output.split()))
    assert found, output
    return int(found.group(1)), found.group(2).split(", "), int(found.group(3))


def test_a_supplier_only_file_is_checked_and_says_what_it_checked(cli, tmp_path):
    supplier = _submodels(_sample("drone.aasx"), contract.SUPPLIER_OFFERS)[0]
    path = _write_json(tmp_path / "supplier.json", [supplier])
    done = cli.invoke(app, ["validate", str(path)])
    assert done.exit_code == 0, done.output
    assert _checked(done.output, "SupplierOffers") == (1, [supplier.id], 0)
    assert "BomOptimizationRequest" not in done.output


def test_a_component_only_package_checks_its_variants_and_bom(cli, tmp_path):
    store = _sample("conveyor-drive-idta.aasx")
    variants = _submodels(store, contract.COMPONENT_VARIANTS)
    bom = _submodels(store, *idta.HIERARCHY_SUBMODELS)
    assert variants and bom
    path = tmp_path / "components.aasx"
    with aasx.AASXWriter(str(path)) as writer:
        writer.write_all_aas_objects(
            "/aasx/data.json", model.DictIdentifiableStore([*variants, *bom]), aasx.DictSupplementaryFileContainer()
        )
    done = cli.invoke(app, ["validate", str(path)])
    assert done.exit_code == 0, done.output
    assert _checked(done.output, "ComponentVariants") == (len(variants), [sm.id for sm in variants], 0)
    assert _checked(done.output, "Hierarchical Structures") == (1, [bom[0].id], 0)


def _offer_price(supplier: model.Submodel) -> model.Property:
    offers = next(e for e in supplier.submodel_element if e.id_short == "Offers")
    first = next(iter(offers.value))
    return next(e for e in first.value if e.id_short == "UnitPrice")


@pytest.mark.parametrize(
    "value, type_, what",
    [
        (-4.5, model.datatypes.Double, "negative or non-finite UnitPrice"),
        ("cheap", model.datatypes.String, "must be numeric"),
    ],
)
def test_a_broken_supplier_file_names_the_submodel_and_element(cli, tmp_path, value, type_, what):
    good, broken = _submodels(_sample("drone.aasx"), contract.SUPPLIER_OFFERS)[:2]
    price = _offer_price(broken)
    price.value_type = type_
    price.value = value
    path = _write_json(tmp_path / "suppliers.json", [good, broken])
    done = cli.invoke(app, ["validate", str(path)])
    assert done.exit_code == 2, done.output
    assert _checked(done.output, "SupplierOffers") == (2, sorted([good.id, broken.id]), 1)
    text = " ".join(done.output.split())
    error = next(line for line in done.output.splitlines() if "error" in line and what in line)
    assert f"submodel {broken.id}" in error and "element Offers[0].UnitPrice" in error, text
    assert good.id not in error
