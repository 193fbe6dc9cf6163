"""No traceback, no lost or overwritten file, no hostile text on the terminal: the CLI's edges."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from aas_quantum.aas.files import read_files, write_aasx, write_json
from aas_quantum.aas.mapping import catalog_objects
from aas_quantum.cli import app

import generate
from tests.support import DRONE_STEM, SMALL


def clean_exit(result, code: int) -> str:
    """The exit code is ``code`` and the failure was reported, not raised: returns the message on one line."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return " ".join(result.output.split())


@pytest.mark.parametrize("tail", ["a" * 300, "中" * 100], ids=["300-ascii", "100-cjk"])
def test_long_product_ids_give_short_unique_file_names(cli, tmp_path, tail):
    path = tmp_path / "long.aasx"
    write_aasx(path, catalog_objects(generate.drone(), f"urn:x:{tail}"))
    result = cli.invoke(app, ["optimize", str(path), "--solver", "greedy", "--out", str(tmp_path / "out")])
    clean_exit(result, 0)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(names) == 2 and all(len(n.encode()) < 255 for n in names)


def test_products_whose_ids_end_alike_get_their_own_files(cli, tmp_path):
    """``--all`` over urn:a:drone and urn:b:drone: two result files, neither overwriting the other."""
    first = catalog_objects(generate.drone(), "urn:a:drone")
    second = [o for o in catalog_objects(generate.drone(), "urn:b:drone") if ":supplier:" not in o.id]
    path = tmp_path / "two.aasx"
    write_aasx(path, [*first, *second])
    result = cli.invoke(app, ["optimize", str(path), "--all", "--solver", "greedy", "--json", "--out",
                              str(tmp_path / "out")])
    summaries = json.loads(result.output)
    assert result.exit_code == 0
    outputs = {s["outputs"]["json"] for s in summaries}
    assert len(outputs) == 2 and all(Path(p).is_file() for p in {s["outputs"]["aasx"] for s in summaries})
    results = {next(iter(read_files([Path(p)]).objects)).id for p in outputs}
    assert results == {"urn:a:drone:aas/sm/BomOptimizationResult", "urn:b:drone:aas/sm/BomOptimizationResult"}


def test_out_that_is_a_file_is_refused_before_solving(cli, tmp_path):
    target = tmp_path / "out"
    target.write_text("not a folder")
    message = clean_exit(cli.invoke(app, ["optimize", str(SMALL), "--out", str(target)]), 2)
    assert f"--out {target} is a file" in message
    assert target.read_text() == "not a folder"


def test_out_that_cannot_be_written_is_refused_before_solving(cli):
    message = clean_exit(cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--out",
                                          "/proc/aas-quantum-out"]), 2)
    assert "--out /proc/aas-quantum-out is not writable" in message


def test_outputs_never_replace_an_input(cli, tmp_path):
    """Re-optimising a result package into its own folder would replace it: refused, input untouched."""
    assert cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--out", str(tmp_path)]).exit_code == 0
    package = tmp_path / f"{DRONE_STEM}.result.aasx"
    before = package.read_bytes()
    message = clean_exit(cli.invoke(app, ["optimize", str(package), "--solver", "exact", "--out", str(tmp_path)]), 2)
    assert "would replace an input file" in message
    assert package.read_bytes() == before


def test_control_sequences_in_the_inputs_never_reach_the_terminal(cli, tmp_path):
    catalog = generate.drone()
    hostile = "Frame\x1b]0;owned\x07\x1b[2J\x9b31m"
    catalog = replace(catalog, positions=(replace(catalog.positions[0], designation=hostile),
                                          *catalog.positions[1:]))
    path = tmp_path / "hostile.json"
    write_json(path, catalog_objects(catalog, "urn:x:hostile"))
    result = cli.invoke(app, ["optimize", str(path), "--solver", "greedy", "--out", str(tmp_path / "out")],
                        env={"COLUMNS": "300"})
    clean_exit(result, 0)
    assert "\x1b" not in result.output and "\x07" not in result.output and "\x9b" not in result.output
    assert "\\x1b]0;owned\\x07" in result.output


def test_ids_and_names_that_contain_emoji_codes_print_as_written(cli, tmp_path):
    """rich turns ``:x:`` into an emoji: the id urn:x:twin came out as urn❌twin in messages and tables."""
    catalog = generate.drone()
    catalog = replace(catalog, positions=(replace(catalog.positions[0], designation="Frame:x:carbon"),
                                          *catalog.positions[1:]))
    path = tmp_path / "twin.json"
    write_json(path, catalog_objects(catalog, "urn:x:twin"))
    result = cli.invoke(app, ["optimize", str(path), "--solver", "greedy", "--out", str(tmp_path / "out")],
                        env={"COLUMNS": "300"})
    clean_exit(result, 0)
    assert "Frame:x:carbon" in result.output and "\u274c" not in result.output
    message = clean_exit(cli.invoke(app, ["validate", str(path), "--shell", "urn:x:missing"]), 2)
    assert "urn:x:missing" in message and "\u274c" not in message


def test_a_package_that_inflates_beyond_the_limit_is_refused(cli, tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.aasx"
    shutil.copy(SMALL, bomb)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("aasx/padding.bin", b"\0" * (12 * 2**20))  # 12 MB of zeros, a few kB compressed
    assert bomb.stat().st_size < SMALL.stat().st_size + 200_000
    monkeypatch.setenv("AAS_QUANTUM_MAX_PART_MB", "5")
    message = clean_exit(cli.invoke(app, ["validate", str(bomb)]), 2)
    assert "part aasx/padding.bin inflates to 12 MB, more than 5 MB (AAS_QUANTUM_MAX_PART_MB)" in message
    monkeypatch.setenv("AAS_QUANTUM_MAX_PART_MB", "50")
    clean_exit(cli.invoke(app, ["validate", str(bomb)]), 0)


_DATASHEET = {"idShort": "Datasheet", "modelType": "File", "contentType": "application/pdf",
              "value": "/aasx/files/datasheet.pdf"}
_AT_ANY_DEPTH = {  # where a File can sit, and the path the message gives
    "top level": (_DATASHEET, "element Datasheet"),
    "collection": ({"idShort": "Docs", "modelType": "SubmodelElementCollection",
                    "value": [{"idShort": "Manual", "modelType": "Property", "valueType": "xs:string"},
                              _DATASHEET]}, "element Docs.Datasheet"),
    "list": ({"idShort": "Docs", "modelType": "SubmodelElementList", "typeValueListElement": "File",
              "value": [{k: v for k, v in _DATASHEET.items() if k != "idShort"}]}, "element Docs."),
    "entity": ({"idShort": "Part", "modelType": "Entity", "entityType": "CoManagedEntity",
                "statements": [_DATASHEET]}, "element Part.Datasheet"),
}


@pytest.mark.parametrize("place", list(_AT_ANY_DEPTH))
def test_file_element_outside_the_package_is_found_by_validate(cli, tmp_path, place):
    """In a package (a plain .json has none: there the path is a reference, see test_interop.py)."""
    path = tmp_path / "with-file.json"
    write_json(path, catalog_objects(generate.drone(), "urn:x:files"))
    data = json.loads(path.read_text())
    request = next(s for s in data["submodels"] if s["idShort"] == "BomOptimizationRequest")
    element, where = _AT_ANY_DEPTH[place]
    request["submodelElements"].append(element)
    path.write_text(json.dumps(data))
    env = read_files([path])
    package = tmp_path / "with-file.aasx"
    write_aasx(package, list(env.objects), env.files, env.references)
    message = clean_exit(cli.invoke(app, ["validate", str(package)]), 2)
    assert "'/aasx/files/datasheet.pdf', which is not in the package" in message
    assert where in message and "BomOptimizationRequest" in message


def test_a_statevector_too_large_for_the_machine_is_a_clear_error(cli, tmp_path):
    """The drone's penalty encoding has 29 qubits: its full statevector would not fit in memory. The
    solver refuses before solving anything (its compatibility check counts encoded qubits)."""
    message = clean_exit(cli.invoke(app, ["optimize", str(SMALL), "--solver", "qaoa", "--encoding", "penalty",
                                          "--out", str(tmp_path / "out")]), 2)
    assert "solver qaoa" in message and "29-qubit statevector" in message and "--solver hybrid" in message
    assert not (tmp_path / "out").exists()


def test_the_hybrid_records_the_encoding_and_backend_its_windows_ran(cli, tmp_path):
    """The hybrid with the penalty encoding (29 encoded qubits > budget 20 although 15 options fit; what auto
    hands the time exact leaves to) names the encoding and backend the sub-solves used, not the one-hot
    defaults."""
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "hybrid", "--encoding", "penalty", "--maxiter", "10",
                              "--time-limit", "20", "--json", "--out", str(tmp_path)])
    clean_exit(result, 0)
    record = json.loads(result.output)["solver"]
    assert record["method"] == "hybrid" and record["encoding"] == "penalty"
    assert 0 < record["qubits"] <= 20
    assert "full statevector" in record["backend"] and "subspace" not in record["backend"]


def test_help_shows_config_tables(cli):
    text = " ".join(cli.invoke(app, ["optimize", "--help"], env={"COLUMNS": "300"}).output.split())
    assert "(settings: [mqtt])" in text and "(node map: [opcua.client])" in text
