"""The optimize / validate / templates / generate commands end to end on real files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from aas_quantum import contract
from aas_quantum.aas.files import read_files
from aas_quantum.aas.mapping import product_shell, read_catalog, submodels_with
from aas_quantum.cli import app
from aas_quantum.problem import build_problem
from aas_quantum.solvers import SolveOptions, get_solver

import generate
from tests.support import MEDIUM, REPO, SMALL, check_file, free_port, idta_findings, write_catalog


def test_optimize_writes_result_aasx_and_json(cli, tmp_path: Path):
    source = tmp_path / "drone.aasx"
    shutil.copy(SMALL, source)
    before = source.read_bytes()
    out = tmp_path / "out"
    result = cli.invoke(app, ["optimize", str(source), "--solver", "exact", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert source.read_bytes() == before

    env = read_files([source])
    problem = build_problem(read_catalog(env, product_shell(env)))
    optimum = get_solver("exact").solve(problem, SolveOptions())
    assert summary["kpis"]["objective"] == optimum.objective
    assert summary["kpis"]["total_cost"] == sum(line["extended_price"] for line in summary["selection"])
    assert summary["kpis"]["gap_to_optimum_pct"] == 0.0
    assert summary["kpis"]["improvement_vs_greedy_pct"] > 0  # the drone's limits defeat plain greedy
    assert all(c["satisfied"] for c in summary["constraints"])

    aasx, js = Path(summary["outputs"]["aasx"]), Path(summary["outputs"]["json"])
    assert check_file(aasx, "aasx").returncode == 0 and idta_findings(aasx, "aasx") == []
    assert check_file(js, "json").returncode == 0 and idta_findings(js, "json") == []
    written = read_files([aasx])
    results = submodels_with(written, contract.OPTIMIZATION_RESULT)
    assert len(results) == 1
    shell = product_shell(written)
    assert sum(1 for r in shell.submodel if r.key[-1].value == results[0].id) == 1
    # the output package still holds every input object
    assert set(env.origin) <= set(written.origin)


def test_rerun_on_output_replaces_result_and_advances_version(cli, tmp_path: Path):
    first = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--out", str(tmp_path / "a"), "--json"])
    aasx = Path(json.loads(first.output)["outputs"]["aasx"])
    second = cli.invoke(app, ["optimize", str(aasx), "--solver", "exact", "--out", str(tmp_path / "b"), "--json"])
    assert second.exit_code == 0, second.output
    written = read_files([Path(json.loads(second.output)["outputs"]["aasx"])])
    results = submodels_with(written, contract.OPTIMIZATION_RESULT)
    assert len(results) == 1
    assert results[0].administration.version == "2"
    shell = product_shell(written)
    assert sum(1 for r in shell.submodel if r.key[-1].value == results[0].id) == 1


def test_infeasible_exit_code_and_reason(cli, tmp_path: Path):
    catalog = generate.drone()
    catalog = replace(catalog, request=replace(catalog.request, max_total_weight_kg=0.2))
    path = write_catalog(catalog, tmp_path / "tight.aasx")
    result = cli.invoke(app, ["optimize", str(path), "--solver", "exact", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "MaxTotalWeight <= 0.2 cannot be met" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_table_summary_and_validate(cli, tmp_path: Path):
    result = cli.invoke(app, ["optimize", str(MEDIUM), "--solver", "exact", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for text in ("Selection for", "Improvement vs greedy", "Gap to optimum", "MaxTotalWeight", "result written to"):
        assert text in result.output
    validated = cli.invoke(app, ["validate", str(MEDIUM)])
    assert validated.exit_code == 0
    assert "15 positions" in validated.output


def test_unknown_solver_is_bad_input(cli, tmp_path: Path):
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "magic", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown solver 'magic'" in result.output


def test_templates_and_generate_commands(cli, tmp_path: Path):
    result = cli.invoke(app, ["templates", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "BomOptimizationRequest.json", "BomOptimizationResult.json", "ComponentVariants.json", "SupplierOffers.json"]
    out = tmp_path / "syn.aasx"
    assert cli.invoke(app, ["generate", "12", "--seed", "3", "--out", str(out)]).exit_code == 0
    env = read_files([out])
    assert len(build_problem(read_catalog(env, product_shell(env))).positions) == 12


def test_reads_xml_in_v30_and_v31_namespaces(cli, tmp_path: Path):
    from basyx.aas.adapter import xml as aas_xml
    from basyx.aas.model import DictIdentifiableStore

    env = read_files([SMALL])
    v31 = tmp_path / "drone-v31.xml"
    with v31.open("wb") as fh:
        aas_xml.write_aas_xml_file(fh, DictIdentifiableStore(env.objects))
    v30 = tmp_path / "drone-v30.xml"
    v30.write_bytes(v31.read_bytes().replace(b"https://admin-shell.io/aas/3/1", b"https://admin-shell.io/aas/3/0"))
    expected = build_problem(read_catalog(env, product_shell(env)))
    for path in (v31, v30):
        xml_env = read_files([path])
        assert build_problem(read_catalog(xml_env, product_shell(xml_env))) == expected
    assert cli.invoke(app, ["validate", str(v30)]).exit_code == 0


@pytest.mark.parametrize(("args", "named"), [
    (["--solver", "qaoa", "--reps", "0"], "reps (--reps) must be a number >= 1 and <= 100, got 0"),
    (["--solver", "qaoa", "--shots", "0"], "shots (--shots) must be a number >= 1 and <= 10000000, got 0"),
    (["--solver", "anneal", "--seed", "-5"], "seed (--seed) must be a number >= 0"),
    (["--solver", "exact", "--time-limit", "0"], "time_limit_s (--time-limit) must be a number > 0"),
    (["--solver", "qaoa", "--param", "mixer=star"], "mixer (--mixer) must be one of ring, complete"),
    # NaN passes every range check: the hybrid with patience 0 ran until killed
    (["--solver", "hybrid", "--param", "time_limit_s=nan", "--param", "patience=0"],
     "time_limit_s (--time-limit) must be a number > 0 and <= 604800, got nan"),
    (["--time-limit", "nan"], "time_limit_s (--time-limit) must be a number > 0 and <= 604800, got nan"),
    (["--solver", "qaoa", "--param", "warm_epsilon=nan"], "warm_epsilon (--warm-epsilon) must be a number >= 0 "
                                                          "and <= 0.5, got nan"),
    (["--param", "patience=-1"], "patience (--patience) must be a number >= 0, got -1"),
    # the hybrid with patience 0 runs to its time limit: a limit of 30 years held the worker as NaN did
    (["--solver", "hybrid", "--param", "patience=0", "--time-limit", "1e9"],
     "time_limit_s (--time-limit) must be a number > 0 and <= 604800, got 1000000000.0"),
    # checked before the parameter is matched to the solver; run, VQE held 19 GB after 90 s of one evaluation
    (["--solver", "exact", "--reps", "2000000000"], "reps (--reps) must be a number >= 1 and <= 100, got 2000000000"),
])
@pytest.mark.timeout(120)  # each is refused before anything is read
def test_out_of_range_solver_settings_name_the_flag_before_anything_runs(cli, tmp_path, args, named):
    done = cli.invoke(app, ["optimize", str(SMALL), *args, "--out", str(tmp_path)])
    assert done.exit_code == 2 and named in done.output, done.output
    assert "Traceback" not in done.output and "numpy" not in done.output and not list(tmp_path.iterdir())


def test_result_reads_a_local_result_file_with_rounded_money_and_its_lines(cli, tmp_path):
    done = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--json", "--out", str(tmp_path)])
    summary = json.loads(done.output)
    shown = cli.invoke(app, ["result", summary["outputs"]["json"]], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert f"{summary['kpis']['total_cost']:,.2f}" in shown.output
    assert not re.search(r"\d\.\d{7,}", shown.output)  # no float noise such as 327.68999999999994
    for line in summary["selection"]:
        assert re.search(rf"{line['position_id']}\s.*{re.escape(line['part_number'])}\s.*"
                         rf"{re.escape(line['supplier_id'])}\s.*{line['extended_price']:,.2f}", shown.output)
    from_package = cli.invoke(app, ["result", summary["outputs"]["aasx"]], env={"COLUMNS": "200"})
    assert from_package.exit_code == 0 and f"{summary['kpis']['total_cost']:,.2f}" in from_package.output
    not_a_result = cli.invoke(app, ["result", str(SMALL)])
    assert not_a_result.exit_code == 2 and "0 result submodels" in not_a_result.output


def test_explain_names_for_every_drone_position_the_reason_and_the_next_best(cli, tmp_path):
    import itertools

    from aas_quantum.explain import explain

    done = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--json", "--out", str(tmp_path)])
    package = json.loads(done.output)["outputs"]["aasx"]
    shown = cli.invoke(app, ["explain", package], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    env = read_files([Path(package)])
    from aas_quantum.aas.mapping import saved_run

    problem, choice, _ = saved_run(env, product_shell(env))
    base = problem.objective(problem.x_from_choice(choice))
    for p, item in enumerate(explain(problem, choice)):
        assert item.reason and item.position_id in shown.output
        # brute force: the best selection that avoids the chosen option of this position
        best = None
        for other in itertools.product(*(range(len(q.options)) for q in problem.positions)):
            if other[p] == choice[p]:
                continue
            x = problem.x_from_choice(other)
            if not problem.violations(x):
                best = min(best, problem.objective(x)) if best is not None else problem.objective(x)
        if item.next_best is None:
            assert best is None  # "every feasible selection needs the chosen option" is true
        else:
            assert best is not None and item.next_best.objective_change == pytest.approx(best - base, abs=1e-6)
    assert "would break MinTotalPerformance" in shown.output  # a cheaper option lost to a named limit


def test_piped_output_is_not_cut_at_80_columns(tmp_path):
    import os
    import subprocess
    import sys

    from tests.support import REPO

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "aas_quantum.cli", "optimize", str(SMALL), "--solver", "greedy",
                           "--out", str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "FRM-CF5-220" in done.stdout and "SUP-SKYPARTS" in done.stdout and "…" not in done.stdout


def test_piped_run_reports_each_stage_on_stderr_and_quiet_prints_only_what_was_written(tmp_path):
    """Piped or logged, a run says what it is doing, one plain line per stage on stderr (no blank screen,
    no spinner escapes); --quiet leaves only the written files on stdout."""
    import os
    import subprocess
    import sys

    from tests.support import REPO

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "aas_quantum.cli", "optimize", str(SMALL), "--solver", "exact",
                               "--out", str(tmp_path), *extra], cwd=REPO, env=dict(os.environ), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    piped = run()
    stages = [line.partition(": ")[2] for line in piped.stderr.splitlines() if ": " in line]
    assert stages == ["reading inputs", "exact baseline", "greedy baseline", "exact", "report", "writing results"]
    assert "\x1b" not in piped.stderr and "Selection for" in piped.stdout
    quiet = run("--quiet")
    assert quiet.stderr == ""
    assert "Selection for" not in quiet.stdout and "result written to" in quiet.stdout


def test_verbose_logs_each_solver_with_its_objective_and_time(tmp_path):
    """-v logs on stderr what each solver found and how long it took; without it, none of that."""
    import os
    import re
    import subprocess
    import sys

    from tests.support import REPO

    def stderr(*flags: str) -> str:
        done = subprocess.run([sys.executable, "-m", "aas_quantum.cli", *flags, "optimize", str(SMALL), "--solver",
                               "exact", "--out", str(tmp_path), "--quiet"], cwd=REPO, capture_output=True, text=True,
                              env=dict(os.environ, COLUMNS="200"), timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stderr
    logged = stderr("-v")
    optimum = json_summary_objective(tmp_path)
    found = {m.group(1): float(m.group(2).replace(",", ""))
             for m in re.finditer(r"(exact|greedy\+ls|greedy): \w+, objective ([\d,.]+) in [\d.]+ s", logged)}
    assert set(found) == {"exact", "greedy", "greedy+ls"}
    assert found["exact"] == pytest.approx(optimum, abs=0.005)
    assert found["greedy"] >= found["greedy+ls"] >= found["exact"] - 0.005
    assert "objective" not in stderr()


def json_summary_objective(out: Path) -> float:
    from aas_quantum.aas import mapping
    from aas_quantum.aas.files import read_files

    env = read_files(sorted(out.glob("*.result.aasx")))
    _, _, summary = mapping.saved_run(env, mapping.product_shell(env))
    return summary.kpis.objective


def _result_document_edit(document: dict, change) -> None:
    """``change(kpis, top)`` on the BomOptimizationResult in an AAS JSON document: the KPIs collection's
    elements and the submodel's own elements, each as idShort -> element."""
    result = next(s for s in document["submodels"]
                  if s["semanticId"]["keys"][0]["value"] == contract.OPTIMIZATION_RESULT)
    top = {e["idShort"]: e for e in result["submodelElements"]}
    change({e["idShort"]: e for e in top["KPIs"]["value"]}, top)


def _edited_package(source: Path, target: Path, change) -> Path:
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename.endswith(".json") and "_rels" not in info.filename:
                document = json.loads(data)
                _result_document_edit(document, change)
                data = json.dumps(document).encode()
            new.writestr(info, data)
    return target


def _solved_drone(cli, tmp_path: Path) -> dict:
    done = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--json", "--out", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)["outputs"]


def _breaking_the_weight_limit(source: Path, target: Path) -> Path:
    """The run's package with a result whose selection breaks MaxTotalWeight, every figure consistent with that
    selection and every constraint claimed satisfied: what no check of the result's totals alone can catch."""
    import datetime as dt
    import itertools

    from aas_quantum.aas.files import write_aasx
    from aas_quantum.aas.result import output_objects, result_submodel, result_submodel_id
    from aas_quantum.report import build_report
    from aas_quantum.solvers.base import Solution, SolverRecord, Status
    from aas_quantum.summary import RunSummary

    env = read_files([source])
    shell = product_shell(env)
    problem = build_problem(read_catalog(env, shell))
    heavy = next(c for c in itertools.product(*(range(len(q.options)) for q in problem.positions))
                 if [v.name for v, _ in problem.violations(problem.x_from_choice(c))] == ["MaxTotalWeight"])
    record = SolverRecord(method="exact", backend="highs", wall_time_s=0.1)
    solution = Solution(Status.OPTIMAL, heavy, problem.objective(problem.x_from_choice(heavy)), record)
    now = dt.datetime.now(dt.UTC)
    summary = RunSummary.of(build_report(problem, solution, None, None, now, now), "run-1")
    summary = replace(summary, constraints=tuple(replace(c, satisfied=True, bound=max(c.bound, c.value))
                                                 for c in summary.constraints))
    result = result_submodel(problem, summary, result_submodel_id(shell.id))
    write_aasx(target, output_objects(env, shell.id, result), env.files)
    return target


def test_export_explain_and_result_refuse_a_result_whose_selection_breaks_a_limit(cli, tmp_path):
    outputs = _solved_drone(cli, tmp_path)
    package = _breaking_the_weight_limit(Path(outputs["aasx"]), tmp_path / "tampered.result.aasx")
    out = tmp_path / "erp"
    for args in (["export", str(package), "--out", str(out)], ["explain", str(package)], ["result", str(package)]):
        refused = cli.invoke(app, args)
        assert refused.exit_code == 2, (args, refused.output)
        message = " ".join(refused.output.split())
        assert "the result disagrees with its inputs" in message and "breaks MaxTotalWeight" in message, message
        assert "tampered.result.aasx" in message
    assert not out.exists()


@pytest.mark.parametrize("where", ["json", "aasx"])
def test_result_refuses_a_total_cost_its_lines_do_not_sum_to(cli, tmp_path, where):
    outputs = _solved_drone(cli, tmp_path)

    def change(kpis: dict, top: dict) -> None:
        kpis["TotalCost"]["value"] = str(float(kpis["TotalCost"]["value"]) - 100)

    if where == "json":
        path = tmp_path / "tampered.result.json"
        document = json.loads(Path(outputs["json"]).read_text())
        _result_document_edit(document, change)
        path.write_text(json.dumps(document))
    else:
        path = _edited_package(Path(outputs["aasx"]), tmp_path / "tampered.result.aasx", change)
    shown = cli.invoke(app, ["result", str(path)])
    assert shown.exit_code == 2, shown.output
    assert "KPIs.TotalCost is" in " ".join(shown.output.split()) and "ExtendedPrice" in shown.output


def test_explain_and_export_refuse_a_result_naming_another_product(cli, tmp_path):
    outputs = _solved_drone(cli, tmp_path)
    path = _edited_package(Path(outputs["aasx"]), tmp_path / "tampered.result.aasx",
                           lambda kpis, top: top["ProductId"].update(value="urn:other:product"))
    for args in (["explain", str(path)], ["export", str(path), "--out", str(tmp_path / "erp")]):
        refused = cli.invoke(app, args)
        assert refused.exit_code == 2, refused.output
        assert "ProductId is 'urn:other:product'" in " ".join(refused.output.split())
        assert "Why this selection for urn:other:product" not in refused.output
    assert not (tmp_path / "erp").exists()


@pytest.mark.parametrize("error", [RuntimeError, ValueError])
def test_an_unexpected_error_inside_a_solver_is_an_internal_error_not_bad_input(cli, tmp_path, monkeypatch, error):
    """Bad input travels as AasQuantumError (exit 2); anything else a solver raises, a ValueError included, is
    the tool's fault: exit 1 and a message saying so, not blamed on the input."""
    from aas_quantum.solvers.anneal import AnnealSolver

    def broken(self, problem, options):
        raise error("the solver broke")

    monkeypatch.setattr(AnnealSolver, "solve", broken)
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "anneal", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert f"error: internal error: {error.__name__}: the solver broke" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, asked", [
    (["--registry", "{a}"], "{a}/shell-descriptors"),
    (["--submodel-registry", "{a}"], "{a}/submodel-descriptors"),
    (["--server", "{a}", "--submodel-server", "{b}"], "{b}/submodels"),
])
def test_batch_and_pareto_reach_the_server_every_server_option_names_as_optimize_does(cli, tmp_path, monkeypatch,
                                                                                     option, asked):
    """Every command that talks to an AAS server takes the whole group of server options, resolved one way:
    the URL the run fails to reach (nothing listens there) is the one the option named, for each command."""
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "0")  # a refused connection is final: no backoff to wait out
    a, b = (f"http://127.0.0.1:{free_port()}/api/v3.0" for _ in range(2))
    args = [arg.format(a=a, b=b) for arg in option]
    failure = f"GET {asked.format(a=a, b=b)}: cannot reach the AAS server"
    for command, exit_code in ((["optimize", "--all"], 3), (["pareto"], 3), (["batch", "--all"], 1)):
        done = cli.invoke(app, [*command, *args, "--out", str(tmp_path / command[0])])
        assert done.exit_code == exit_code, done.output
        assert failure in " ".join(done.output.split()), done.output
    assert "failed (exit class 3)" in " ".join(done.output.split())  # the batch's source: a server failure


def test_python_dash_m_runs_the_same_commands():
    done = subprocess.run([sys.executable, "-m", "aas_quantum", "validate", str(SMALL)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ") and "6 positions, 15 options" in done.stdout, done.stdout
