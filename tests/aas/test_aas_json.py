"""The faster JSON decoding and encoding (aas_quantum.aas.files) against the SDK's own: the same objects read,
the same text written, the same errors, on the SDK's example data (every attribute of every class) and on
a generated BoM (deep collections and lists)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from basyx.aas import model
from basyx.aas.adapter import json as aas_json
from basyx.aas.adapter.json import json_serialization
from basyx.aas.examples.data import create_example

from aas_quantum.aas import files, mapping
from aas_quantum.synthetic import synthetic_catalog

from tests.support import REPO

INTEROP = REPO.parent / "shared" / "interop"


def _stores() -> dict[str, model.DictIdentifiableStore]:
    return {
        "SDK example": create_example(),
        "generated BoM": model.DictIdentifiableStore(
            mapping.catalog_objects(synthetic_catalog(12, seed=4), "urn:aas-quantum:test")),
    }


def _sdk_text(store: model.AbstractObjectStore) -> str:
    return json.dumps(json_serialization._create_dict(store), cls=aas_json.AASToJsonEncoder)


def _unordered_sets(value: Any) -> Any:
    """The JSON with the SDK's sets (a value list's pairs) in one order: the SDK keeps them in a Python set,
    so two reads of the same text may write them in different orders."""
    if isinstance(value, dict):
        return {key: sorted(map(_unordered_sets, item), key=json.dumps) if key == "valueReferencePairs"
                else _unordered_sets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unordered_sets(item) for item in value]
    return value


def _without_empty_asset_ids(value: Any) -> Any:
    """The SDK's text with the one difference our encoder makes on purpose: no empty specificAssetIds."""
    if isinstance(value, dict):
        return {key: _without_empty_asset_ids(item) for key, item in value.items()
                if not (key == "specificAssetIds" and item == [] and value.get("modelType") == "Entity")}
    if isinstance(value, list):
        return [_without_empty_asset_ids(item) for item in value]
    return value


@pytest.mark.parametrize("name", ["SDK example", "generated BoM"])
def test_encoding_writes_what_the_sdk_writes(name):
    store = _stores()[name]
    ours = json.loads(json.dumps(json_serialization._create_dict(store), cls=files.AasJsonEncoder))
    assert ours == _without_empty_asset_ids(json.loads(_sdk_text(store)))


@pytest.mark.parametrize("failsafe", [False, True])
@pytest.mark.parametrize("name", ["SDK example", "generated BoM"])
def test_decoding_builds_what_the_sdk_builds(name, failsafe):
    text = _sdk_text(_stores()[name])
    ours = files._read_aas_json_file(io.StringIO(text), failsafe=failsafe)
    sdks = aas_json.read_aas_json_file(io.StringIO(text), failsafe=failsafe)
    assert len(ours) == len(sdks) > 0
    assert _unordered_sets(json.loads(_sdk_text(ours))) == _unordered_sets(json.loads(_sdk_text(sdks)))


def _collection_holding_a_shell() -> str:
    """A submodel whose collection holds an AAS shell where a submodel element belongs."""
    shell = {"modelType": "AssetAdministrationShell", "id": "urn:x:shell",
             "assetInformation": {"assetKind": "Instance", "globalAssetId": "urn:x:asset"}}
    good = {"modelType": "Property", "idShort": "Kept", "valueType": "xs:string", "value": "a"}
    collection = {"modelType": "SubmodelElementCollection", "idShort": "Bag", "value": [good, shell]}
    listing = {"modelType": "SubmodelElementList", "idShort": "Row", "typeValueListElement": "Property",
               "valueTypeListElement": "xs:string", "value": [dict(good, idShort=None), shell]}
    listing["value"][0].pop("idShort")
    submodel = {"modelType": "Submodel", "id": "urn:x:sm", "idShort": "S", "submodelElements": [collection, listing]}
    return json.dumps({"submodels": [submodel]})


def test_a_wrong_child_fails_strict_reading_as_in_the_sdk():
    text = _collection_holding_a_shell()
    with pytest.raises(TypeError) as ours:
        files._read_aas_json_file(io.StringIO(text), failsafe=False)
    with pytest.raises(TypeError) as sdks:
        aas_json.read_aas_json_file(io.StringIO(text), failsafe=False)
    assert str(ours.value) == str(sdks.value)
    assert "SubmodelElementCollection[Bag]" in str(ours.value)  # the message names the collection


def test_a_wrong_child_is_left_out_by_failsafe_reading_as_in_the_sdk(caplog):
    text = _collection_holding_a_shell()
    with caplog.at_level(logging.ERROR, logger="basyx"):
        ours = files._read_aas_json_file(io.StringIO(text), failsafe=True)
    our_messages = [record.getMessage() for record in caplog.records]
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="basyx"):
        sdks = aas_json.read_aas_json_file(io.StringIO(text), failsafe=True)
    assert our_messages == [record.getMessage() for record in caplog.records]
    assert len(our_messages) == 2  # one per parent
    submodel = ours.get_item("urn:x:sm")
    assert isinstance(submodel, model.Submodel)
    bag = submodel.get_referable("Bag")
    row = submodel.get_referable("Row")
    assert isinstance(bag, model.SubmodelElementCollection) and isinstance(row, model.SubmodelElementList)
    assert [e.id_short for e in bag.value] == ["Kept"] and len(row.value) == 1
    assert _unordered_sets(json.loads(_sdk_text(ours))) == _unordered_sets(json.loads(_sdk_text(sdks)))


@pytest.mark.parametrize("name", ["basyx_test_demo_full_example.json", "idta02011-1-1-1_HSEBoM_template.json"])
def test_public_json_files_decode_as_in_the_sdk(name):
    path = INTEROP / name
    if not path.is_file():
        pytest.skip(f"{name} is not beside the checkout")
    text = path.read_text(encoding="utf-8-sig")
    ours = files._read_aas_json_file(io.StringIO(text), failsafe=False)
    sdks = aas_json.read_aas_json_file(io.StringIO(text), failsafe=False)
    assert len(ours) == len(sdks) > 0
    assert _unordered_sets(json.loads(_sdk_text(ours))) == _unordered_sets(json.loads(_sdk_text(sdks)))
    written = json.loads(json.dumps(json_serialization._create_dict(ours), cls=files.AasJsonEncoder))
    assert _unordered_sets(written) == _unordered_sets(_without_empty_asset_ids(json.loads(_sdk_text(sdks))))


def test_one_object_decodes_as_in_the_sdk():
    """A server answers one object at a time; it is decoded with the same decoder as a file."""
    store = _stores()["SDK example"]
    assert len(store) > 3
    for obj in store:
        text = json.dumps(obj, cls=aas_json.AASToJsonEncoder)
        ours = json.loads(text, cls=files.json_decoder(failsafe=False))
        sdks = json.loads(text, cls=aas_json.StrictAASFromJsonDecoder)
        assert type(ours) is type(sdks)
        assert _unordered_sets(json.loads(json.dumps(ours, cls=aas_json.AASToJsonEncoder))) == \
            _unordered_sets(json.loads(json.dumps(sdks, cls=aas_json.AASToJsonEncoder)))


def test_running_out_of_memory_while_reading_is_not_called_a_defective_file(tmp_path, monkeypatch):
    """Any exception the SDK raises on a file is that file's defect (exit 2, naming it), but a MemoryError
    is the machine's: it reaches the run, which names memory and what to do."""
    from aas_quantum.app import failure

    path = tmp_path / "big.json"
    path.write_text(json.dumps({"assetAdministrationShells": [], "submodels": []}))

    def exhausted(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(files, "_read_aas_json_file", exhausted)
    with pytest.raises(MemoryError) as raised:
        files.read_files([path])
    code, message = failure(raised.value)
    assert code == 2 and message.startswith("not enough memory")
