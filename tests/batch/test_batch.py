"""Batch runs: products x scenarios in worker processes, resumable after SIGKILL, failures isolated,
a report whose numbers are the result files', consolidated purchasing lists, the Pareto front, and
the same batch on a Dask LocalCluster."""

from __future__ import annotations

import contextlib
import csv
import html
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from aas_quantum.aas.files import write_aasx
from aas_quantum.aas.ids import b64
from aas_quantum.aas.mapping import catalog_objects
from aas_quantum.cli import app
from aas_quantum.synthetic import synthetic_catalog

from tests.support import LARGE, MEDIUM, REPO, SMALL, FaultProxy, load_sample

pytestmark = pytest.mark.timeout(600)

DRONE = "urn:aas-quantum:sample:drone:aas"

SCENARIOS = """
[[scenario]]
name = "cost-only"
method = "exact"
[scenario.weights]
co2_price_per_kg = 0.0

[[scenario]]
name = "cost-co2"
method = "exact"
[scenario.weights]
co2_price_per_kg = 3.0
[scenario.limits]
max_lead_time_days = 40
"""


def packages(folder: Path, count: int, positions: int = 8) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"product-{seed:02d}.aasx"
        write_aasx(path, catalog_objects(synthetic_catalog(positions, seed),
                                         f"urn:aas-quantum:test:product-{seed:02d}"))
        paths.append(path)
    return paths


def manifest_rows(out: Path) -> dict[str, tuple[str, float]]:
    """key -> (status, finished_at) as the manifest holds them now."""
    path = out / "batch-manifest.sqlite"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        try:
            return {k: (s, f) for k, s, f in db.execute("SELECT key, status, finished_at FROM runs")}
        except sqlite3.OperationalError:
            return {}


def report_rows(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(scenario, result file name) -> the report.md row's cells."""
    lines = (out / "report.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| Scenario"))
    names = [c.strip() for c in header.strip("|").split("|")]
    rows = {}
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(names, (c.strip() for c in line.strip("|").split("|")), strict=True))
        file_name = re.match(r"\[(.+?)\]", cells["Result"]).group(1)
        rows[(cells["Scenario"], file_name)] = cells
    return rows


def result_kpis(path: Path) -> dict[str, float]:
    submodel = json.loads(path.read_text())["submodels"][0]
    kpis = next(e for e in submodel["submodelElements"] if e["idShort"] == "KPIs")
    return {e["idShort"]: e["value"] for e in kpis["value"]}


def test_sigkill_halfway_then_rerun_redoes_only_the_unfinished_runs(tmp_path):
    folder = tmp_path / "products"
    packages(folder, 12)
    (tmp_path / "scenarios.toml").write_text(SCENARIOS)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "aas_quantum.cli", "batch", str(folder), "--scenarios",
               str(tmp_path / "scenarios.toml"), "--out", str(out), "--workers", "2"]
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 300
    while len(manifest_rows(out)) < 6:
        assert first.poll() is None, "the batch ended before it could be killed halfway"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the batch and its workers, as a crash would
    first.wait(timeout=30)
    before = manifest_rows(out)
    assert 6 <= len(before) < 24 and all(status == "ok" for status, _ in before.values())

    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=500)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{len(before)} of 24 runs finished earlier with unchanged inputs: skipped" in second.stderr
    assert f"{24 - len(before)} run(s) done, {len(before)} skipped, 0 failed" in second.stdout
    after = manifest_rows(out)
    assert len(after) == 24
    for key, (_, finished_at) in before.items():  # the finished runs were not redone
        assert after[key][1] == finished_at

    # the report's numbers are the result files' numbers
    rows = report_rows(out)
    assert len(rows) == 24
    for (scenario, file_name), cells in rows.items():
        kpis = result_kpis(out / scenario / file_name)
        assert cells["Total cost"] == f"{float(kpis['TotalCost']):,.2f}"
        assert cells["Objective"] == f"{float(kpis['Objective']):,.2f}"
        assert cells["Greedy objective"] == f"{float(kpis['GreedyObjective']):,.2f}"
        assert cells["Gap to optimum %"] == f"{float(kpis['GapToOptimumPercent']):,.3f}"
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 and "<script" not in page  # plots inside, nothing fetched


def test_a_failure_is_isolated_and_counted(tmp_path, cli):
    folder = tmp_path / "products"
    good = packages(folder, 2, positions=5)
    (folder / "broken.aasx").write_bytes(b"not a zip")
    impossible = synthetic_catalog(5, 7)
    from dataclasses import replace

    write_aasx(folder / "impossible.aasx", catalog_objects(
        replace(impossible, request=replace(impossible.request, budget=1.0)), "urn:aas-quantum:test:impossible"))
    out = tmp_path / "out"
    done = cli.invoke(app, ["batch", str(folder), "--out", str(out), "--workers", "2"])
    assert done.exit_code == 1, done.output  # one failed run (the broken package); infeasible is an answer
    assert "2 run(s) done" in done.output or "3 run(s) done" in done.output
    report = (out / "report.md").read_text()
    assert "broken.aasx" in report and "not a valid AASX package" in report
    assert "failed (exit class 2)" in " ".join(done.output.split())  # bad input, not the tool's fault
    assert report.count("| ok |") == len(good) and "| infeasible |" in report


def test_purchasing_lists_sum_each_part_across_products(tmp_path, cli):
    folder = tmp_path / "products"
    packages(folder, 3, positions=6)
    out = tmp_path / "out"
    done = cli.invoke(app, ["batch", str(folder), "--out", str(out), "--workers", "2", "--purchasing"])
    assert done.exit_code == 0, done.output
    expected: dict[tuple[str, str], float] = {}
    for result in (out / "baseline").glob("*.result.json"):
        submodel = json.loads(result.read_text())["submodels"][0]
        for line in next(e for e in submodel["submodelElements"] if e["idShort"] == "Selection")["value"]:
            values = {e["idShort"]: e.get("value") for e in line["value"]}
            key = (values["SupplierId"], values["PartNumber"])
            expected[key] = expected.get(key, 0.0) + float(values["OrderQuantity"])
    listed: dict[tuple[str, str], float] = {}
    for path in (out / "purchasing" / "baseline").glob("*.csv"):
        with path.open() as fh:
            for row in csv.DictReader(fh):
                listed[(row["SupplierId"], row["PartNumber"])] = float(row["OrderQuantity"])
    assert listed == pytest.approx(expected) and listed
    book = load_workbook(out / "purchasing" / "baseline" / "purchasing.xlsx")
    assert sorted(book.sheetnames) == sorted({s for s, _ in expected})


def test_pareto_front_is_non_dominated_and_each_point_exact(tmp_path, cli):
    done = cli.invoke(app, ["pareto", str(MEDIUM), "--x", "cost", "--y", "co2", "--points", "6", "--out",
                            str(tmp_path)])
    assert done.exit_code == 0, done.output
    (path,) = tmp_path.glob("pareto-*-co2.json")
    points = json.loads(path.read_text())["points"]
    assert len(points) >= 4  # the e-bike trades cost against CO2e over a wide range
    costs, co2 = [p["x"] for p in points], [p["y"] for p in points]
    assert costs == sorted(costs) and co2 == sorted(co2, reverse=True)  # cheaper costs more CO2e, and back
    assert all(p["gap_pct"] == pytest.approx(0.0, abs=1e-6) for p in points)
    for a in points:  # no point beats another in both measures
        assert not any(b["x"] <= a["x"] and b["y"] <= a["y"] and b != a for b in points)


def test_the_same_batch_runs_on_a_dask_cluster(tmp_path, cli):
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "products"
    packages(folder, 3, positions=5)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        done = cli.invoke(app, ["batch", str(folder), "--out", str(out), "--dask", cluster.scheduler_address])
    assert done.exit_code == 0, done.output
    assert "3 run(s) done" in done.output
    assert len(list((out / "baseline").glob("*.result.json"))) == 3
    again = cli.invoke(app, ["batch", str(folder), "--out", str(out), "--workers", "1"])
    assert "0 run(s) done, 3 skipped" in again.output  # the manifest the Dask run wrote is the same manifest


def test_scenario_file_errors_name_the_scenario_and_key(tmp_path, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "x"\n[scenario.weights]\nco2_prize = 1\n')
    done = cli.invoke(app, ["batch", str(SMALL), "--scenarios", str(bad), "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "scenario 1 (x)" in done.output and "co2_prize" in done.output
    bad.write_text('[[scenario]]\nname = "x"\nmethod = "qaoa"\n[scenario.parameters]\nsweeps = 10\n')
    done = cli.invoke(app, ["batch", str(SMALL), "--scenarios", str(bad), "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "sweeps" in done.output


def test_a_product_id_in_two_packages_is_refused_naming_both(tmp_path, cli):
    folder = tmp_path / "products"
    first, second = folder / "a.aasx", folder / "b.aasx"
    folder.mkdir()
    for seed, path in enumerate((first, second)):  # two different products under one id
        write_aasx(path, catalog_objects(synthetic_catalog(5, seed), "urn:aas-quantum:test:twin"))
    packages(folder, 1, positions=5)
    out = tmp_path / "out"
    done = cli.invoke(app, ["batch", str(folder), "--out", str(out), "--workers", "1"])
    assert done.exit_code == 2, done.output
    message = " ".join(done.output.split())
    assert "urn:aas-quantum:test:twin" in message and str(first) in message and str(second) in message
    assert "Traceback" not in done.output
    assert not out.exists()  # refused before anything ran: no manifest, no result to be replaced


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)


def _other_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, status TEXT)")
        db.execute("INSERT INTO runs VALUES ('baseline/x', 'ok')")
    db.close()


def _unreadable_row(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, scenario TEXT, shell_id TEXT, source TEXT, "
                   "fingerprint TEXT, status TEXT, exit_code INTEGER, reason TEXT, outcome TEXT, wall_time_s REAL, "
                   "finished_at REAL)")
        db.execute("INSERT INTO runs VALUES ('baseline/x', 'baseline', 'x', 'a.aasx', 'f', 'ok', 0, '', '{oops', 1, 2)")
    db.close()


@pytest.mark.parametrize("damage, what", [(_garbage, "file is not a database"),
                                          (_other_schema, "runs(key, status)"),
                                          (_unreadable_row, "run 'baseline/x': its outcome is not JSON")])
def test_a_corrupt_manifest_is_refused_naming_it_and_left_as_it_was(tmp_path, cli, damage, what):
    out = tmp_path / "out"
    out.mkdir()
    manifest = out / "batch-manifest.sqlite"
    damage(manifest)
    before = _content(manifest)
    done = cli.invoke(app, ["batch", str(SMALL), "--out", str(out), "--workers", "1"])
    message = " ".join(done.output.split())
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and str(manifest) in message and what in message
    assert "move it away (or give another --out)" in message
    assert _content(manifest) == before  # not taken over, not rewritten: the user decides
    assert not (out / "baseline").exists() and not (out / "report.md").exists()  # and nothing ran


def _content(path: Path) -> bytes | list[str]:
    """A file's bytes, or an SQLite file's tables and rows (opening a manifest may switch its journal mode)."""
    if not path.read_bytes().startswith(b"SQLite format 3"):
        return path.read_bytes()
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def _children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_workers_die_with_a_batch_killed_by_sigkill(tmp_path):
    folder = tmp_path / "products"
    packages(folder, 6, positions=40)
    out = tmp_path / "out"
    batch = subprocess.Popen([sys.executable, "-m", "aas_quantum.cli", "batch", str(folder), "--out", str(out),
                              "--workers", "2"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len([pid for pid in children if b"spawn_main" in _command(pid)]) < 3:  # the manager, both workers
            assert batch.poll() is None, "the batch ended before its workers could be seen"
            assert time.monotonic() < deadline, "the batch's workers did not appear"
            time.sleep(0.05)
            children = _children(batch.pid)  # the resource tracker too, once it is there
        os.kill(batch.pid, signal.SIGKILL)  # the batch alone, as the OOM killer would
        batch.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in children if _alive(pid)], "children of the killed batch live on"
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if batch.poll() is None:
            batch.kill()


def _socket_owner(local_port: int, remote_port: int, among: set[int]) -> int | None:
    """Which of ``among`` holds the TCP socket 127.0.0.1:local_port -> :remote_port (/proc/net/tcp)."""
    inodes = {fields[9] for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
              if int(fields[1].split(":")[1], 16) == local_port and int(fields[2].split(":")[1], 16) == remote_port}
    for pid in among:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            with contextlib.suppress(OSError):
                if os.readlink(fd) in {f"socket:[{inode}]" for inode in inodes}:
                    return pid
    return None


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker through /proc")
@pytest.mark.parametrize("every_attempt", [False, True], ids=["killed-once", "killed-every-attempt"])
def test_a_worker_killed_by_sigkill_costs_only_its_own_run(basyx_server, tmp_path, every_attempt):
    """The drone's run is held on its first read from the server (a proxy the test controls) and its
    worker is killed there: once (the retry must finish it), or on every attempt (only it fails)."""
    url, _ = basyx_server(SMALL, MEDIUM, LARGE)
    scenarios = 1 if every_attempt else 3
    (tmp_path / "scenarios.toml").write_text("".join(
        f'[[scenario]]\nname = "s{i}"\nmethod = "greedy"\n[scenario.weights]\nco2_price_per_kg = {i}.0\n\n'
        for i in range(scenarios)))
    held: queue.Queue[int] = queue.Queue()
    release = threading.Event()
    holds = []
    lock = threading.Lock()

    def rule(method: str, path: str) -> str | None:
        if method != "GET" or f"/shells/{b64(DRONE)}" not in path:
            return None
        with lock:
            if holds and not every_attempt:
                return None
            holds.append(path)
        held.put(proxy.peer.address[1])
        release.wait(240)  # until the worker is dead (and the test ends)
        return "refuse"

    out = tmp_path / "out"
    with FaultProxy(url, rule) as proxy:
        proxy_port = int(proxy.url.split(":")[2].split("/")[0])
        batch = subprocess.Popen(
            [sys.executable, "-m", "aas_quantum.cli", "batch", "--server", proxy.url, "--all", "--scenarios",
             str(tmp_path / "scenarios.toml"), "--out", str(out), "--workers", "2"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed = []
        try:
            deadline = time.monotonic() + 400
            while batch.poll() is None:
                assert time.monotonic() < deadline, "the batch did not end"
                try:
                    port = held.get(timeout=0.2)
                except queue.Empty:
                    continue
                worker = _socket_owner(port, proxy_port, _children(batch.pid))
                assert worker is not None, "no worker of the batch holds the held request's connection"
                os.kill(worker, signal.SIGKILL)  # as the OOM killer would, in the middle of the run
                killed.append(worker)
            stdout, stderr = batch.communicate(timeout=60)
        finally:
            release.set()
            if batch.poll() is None:
                batch.kill()
                batch.wait(timeout=30)
    rows = manifest_rows(out)
    drone = [key for key in rows if key.endswith(DRONE)]
    assert len(rows) == 3 * scenarios and len(drone) == scenarios
    assert all(status == "ok" for key, (status, _) in rows.items() if key not in drone), (stdout, stderr)
    if every_attempt:
        assert len(killed) == 2  # the first attempt and one retry, alone in a fresh worker
        assert rows[drone[0]][0] == "failed" and batch.returncode == 1, (stdout, stderr)
        assert "died twice" in stderr and "2 run(s) done, 0 skipped, 1 failed" in stdout
    else:
        assert len(killed) == 1 and batch.returncode == 0, (stdout, stderr)
        assert all(rows[key][0] == "ok" for key in drone)
        assert f"{3 * scenarios} run(s) done, 0 skipped, 0 failed" in stdout
@pytest.mark.parametrize(("table", "named"), [
    ('[scenario.parameters]\ntime_limit_s = nan',
     "[scenario.parameters] time_limit_s must be a number > 0 and <= 604800, got nan"),
    ('method = "hybrid"\n[scenario.parameters]\npatience = 0\ntime_limit_s = inf',
     "[scenario.parameters] time_limit_s must be a number > 0 and <= 604800, got inf"),
    ('[scenario.parameters]\nreps = 0', "[scenario.parameters] reps must be a number >= 1 and <= 100, got 0"),
    ('[scenario.limits]\nmax_total_weight_kg = nan', "[scenario.limits] max_total_weight_kg must be a finite number"),
    ('[scenario.limits]\nmax_total_weight_kg = inf', "[scenario.limits] max_total_weight_kg must be a finite number"),
    ('[scenario.limits]\nbudget = -5', "[scenario.limits] budget must be a non-negative number, got -5"),
    ('[scenario.limits]\nlot_size = 0', "[scenario.limits] lot_size must be a positive number, got 0"),
    ('[scenario.weights]\nco2_price_per_kg = nan', "[scenario.weights] co2_price_per_kg must be a finite number"),
    ('[scenario.weights]\ncost = -1', "[scenario.weights] cost must be a non-negative number, got -1"),
    ('limits = 5', "[scenario.limits] must be a table"),
])
def test_a_scenario_value_no_run_could_use_is_refused_at_load_naming_file_scenario_and_key(tmp_path, cli, table,
                                                                                            named):
    """NaN and infinite limits came back as "infeasible" with exit 0, a negative budget was blamed on the
    product's request element at run time: each is refused before any run, named where it was written."""
    scenarios = tmp_path / "what-if.toml"
    scenarios.write_text(f'[[scenario]]\nname = "base"\n\n[[scenario]]\nname = "tight"\n{table}\n')
    out = tmp_path / "out"
    done = cli.invoke(app, ["batch", str(SMALL), "--scenarios", str(scenarios), "--out", str(out)])
    message = " ".join(done.output.split())
    assert done.exit_code == 2, done.output
    assert f"{scenarios}: scenario 2 (tight): {named}" in message
    assert "BomOptimizationRequest" not in message and "Traceback" not in message
    assert not list(out.rglob("*.result.json"))


def test_a_scenario_name_too_long_for_a_folder_is_refused_at_load(tmp_path, cli):
    scenarios = tmp_path / "what-if.toml"
    scenarios.write_text(f'[[scenario]]\nname = "{"n" * 300}"\n')
    done = cli.invoke(app, ["batch", str(SMALL), "--scenarios", str(scenarios), "--out", str(tmp_path / "out")])
    message = " ".join(done.output.split())
    assert done.exit_code == 2, done.output
    assert f"{scenarios}: scenario 1: name 'nnnn" in message and "is 300 characters long" in message
    assert "at most 60" in message and not list((tmp_path / "out").rglob("*.result.json"))


@pytest.mark.parametrize(("args", "named"), [
    (["--points", "100000"], "--points must be between 2 and 200, got 100000"),
    (["--points", "1"], "--points must be between 2 and 200, got 1"),
    (["--time-limit", "0"], "--time-limit must be a number > 0 and <= 604800, got 0"),
    (["--time-limit", "nan"], "--time-limit must be a number > 0 and <= 604800, got nan"),
])
def test_pareto_refuses_a_sweep_it_cannot_run_before_reading(tmp_path, cli, args, named):
    done = cli.invoke(app, ["pareto", str(SMALL), *args, "--out", str(tmp_path)])
    assert done.exit_code == 2 and named in " ".join(done.output.split()), done.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("y", ["co2", "weight", "lead_time"])
def test_pareto_solves_once_per_point_found_not_once_per_bound(tmp_path, cli, monkeypatch, y):
    """The drone's front is one point: 200 bounds were 200 exact solves (100,000 ran for minutes). A bound
    the last point meets gives that point again and the first bound nothing meets ends the sweep. On the
    e-bike a tight lead-time bound left a position without options and the sweep failed (exit 2)."""
    from aas_quantum.batch import pareto

    solves: list[dict] = []
    solve = pareto._solve

    def counted(catalog, overrides, time_limit_s):
        solves.append(overrides)
        return solve(catalog, overrides, time_limit_s)

    monkeypatch.setattr(pareto, "_solve", counted)
    for product in (SMALL, MEDIUM):
        solves.clear()
        done = cli.invoke(app, ["pareto", str(product), "--y", y, "--points", "200", "--out", str(tmp_path)])
        assert done.exit_code == 0, done.output
        (path,) = tmp_path.glob(f"pareto-{load_sample(product).problem.name}-*-{y}.json")
        points = json.loads(path.read_text())["points"]
        # the cheapest, the least CO2e (co2 only), one solve per point below the cheapest and one that ends it
        assert len(solves) <= len(points) + (2 if y == "co2" else 1) + 1, (len(solves), len(points))
        if product == MEDIUM:
            assert len(points) >= 3  # the e-bike trades cost against each measure


def _impossible(path: Path, budget: float) -> Path:
    """A product no selection fits: its budget is below any selection's cost."""
    from dataclasses import replace

    catalog = synthetic_catalog(4, 7)
    write_aasx(path, catalog_objects(replace(catalog, request=replace(catalog.request, budget=budget)),
                                     "urn:aas-quantum:test:impossible"))
    return path


def _html_rows(page: str, status: str) -> list[str]:
    return re.findall(rf'<tr class="{status}">(.*?)</tr>', page)


def test_an_infeasible_run_gives_its_reason_in_the_report_and_is_not_solved_again(tmp_path, cli):
    folder = tmp_path / "products"
    packages(folder, 1, positions=5)
    impossible = _impossible(folder / "impossible.aasx", 1.0)
    out = tmp_path / "out"
    args = ["batch", str(folder), "--out", str(out), "--workers", "1"]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    rows = manifest_rows(out)
    key = "baseline/urn:aas-quantum:test:impossible:aas"
    assert rows[key][0] == "infeasible" and len(rows) == 2
    with sqlite3.connect(out / "batch-manifest.sqlite") as db:
        (reason,) = db.execute("SELECT reason FROM runs WHERE key = ?", (key,)).fetchone()
    assert "Budget" in reason
    # the row says why, in both formats (not only the terminal did)
    lines = (out / "report.md").read_text().splitlines()
    header = [c.strip() for c in next(ln for ln in lines if ln.startswith("| Scenario")).strip("|").split("|")]
    infeasible = next(ln for ln in lines if "| infeasible |" in ln)
    cells = dict(zip(header, (c.strip() for c in infeasible.strip("|").split("|")), strict=True))
    assert cells["Reason"] == " ".join(reason.split()).replace("|", "\\|")
    assert [html.escape(reason) in row for row in _html_rows((out / "report.html").read_text(), "infeasible")] == [True]

    again = cli.invoke(app, args)  # nothing changed: nothing is solved again, the infeasible run included
    assert again.exit_code == 0, again.output
    assert "2 of 2 runs finished earlier with unchanged inputs: skipped" in " ".join(again.output.split())
    assert manifest_rows(out) == rows
    assert "| infeasible |" in (out / "report.md").read_text()

    _impossible(impossible, 2.0)  # a changed input is solved again, and only that run
    changed = cli.invoke(app, args)
    assert changed.exit_code == 0, changed.output
    after = manifest_rows(out)
    assert after[key][1] > rows[key][1] and after[key][0] == "infeasible"
    assert all(after[k] == rows[k] for k in rows if k != key)


SCENARIOS_NOT_SORTED = """
[[scenario]]
name = "zeta-baseline"
method = "exact"

[[scenario]]
name = "alpha-co2"
method = "exact"
[scenario.weights]
co2_price_per_kg = 5.0

[[scenario]]
name = "beta-lead"
method = "exact"
[scenario.limits]
max_lead_time_days = 40
"""


def test_the_deltas_compare_with_the_first_scenario_in_the_file_as_bars(tmp_path, cli):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    from aas_quantum.batch.report import figures, rows_of

    folder = tmp_path / "products"
    packages(folder, 3, positions=5)
    (tmp_path / "scenarios.toml").write_text(SCENARIOS_NOT_SORTED)
    out = tmp_path / "out"
    done = cli.invoke(app, ["batch", str(folder), "--scenarios", str(tmp_path / "scenarios.toml"), "--out", str(out),
                            "--workers", "1"])
    assert done.exit_code == 0, done.output
    page = (out / "report.html").read_text()
    assert "total cost against zeta-baseline" in page and "against alpha-co2" not in page
    scenario_column = [ln.split("|")[1].strip() for ln in (out / "report.md").read_text().splitlines()
                       if ln.startswith("| ") and not ln.startswith("| Scenario")]
    assert list(dict.fromkeys(scenario_column)) == ["zeta-baseline", "alpha-co2", "beta-lead"]

    rows = rows_of(out, scenarios=["zeta-baseline", "alpha-co2", "beta-lead"])
    drawn = dict(figures(rows, []))
    title = next(t for t in drawn if t.startswith("Scenario deltas"))
    assert "zeta-baseline" in title
    axes = drawn[title].axes[0]
    assert axes.get_ylabel() == "total cost vs zeta-baseline, %"
    # no line joins products (categories): only the zero line, which is flat
    assert all(len(set(line.get_ydata())) <= 1 for line in axes.get_lines() if isinstance(line, Line2D))
    bars = [p for p in axes.patches if isinstance(p, Rectangle)]
    assert len(bars) == 3 * 2  # a bar per product and compared scenario
    costs = {(r.scenario, r.shell_id): r.total_cost for r in rows}
    expected = sorted(round(100 * (costs[(s, p)] / costs[("zeta-baseline", p)] - 1), 6)
                      for s in ("alpha-co2", "beta-lead") for p in {r.shell_id for r in rows})
    assert sorted(round(b.get_height(), 6) for b in bars) == expected
    import matplotlib.pyplot as plt

    plt.close("all")


def test_the_report_names_each_product_once_whatever_its_ids_and_outcome(tmp_path, cli):
    from tests.support import write_product

    folder = tmp_path / "products"
    folder.mkdir()
    write_product(folder / "drone.aasx", synthetic_catalog(4, 1), "https://example.com/ids/aas/drone/")
    write_product(folder / "cabinet.aasx", synthetic_catalog(4, 2), "urn:example:control-cabinet:aas",
                  "urn:example:cabinet:RobotCell-RC7")
    scenarios = tmp_path / "scenarios.toml"
    scenarios.write_text('[[scenario]]\nname = "plain"\nmethod = "exact"\n\n'
                         '[[scenario]]\nname = "broke"\nmethod = "exact"\n[scenario.limits]\nbudget = 1.0\n')
    out = tmp_path / "out"
    done = cli.invoke(app, ["batch", str(folder), "--scenarios", str(scenarios), "--out", str(out), "--workers", "1"])
    assert done.exit_code == 0, done.output
    lines = (out / "report.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| Scenario"))
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[lines.index(header) + 2:]
            if line.startswith("|")]
    assert sorted((r[0], r[1], r[2]) for r in rows) == [
        ("broke", "RobotCell-RC7", "infeasible"), ("broke", "drone", "infeasible"),
        ("plain", "RobotCell-RC7", "ok"), ("plain", "drone", "ok")]
    results = sorted(p.name.partition("-")[0] for p in out.rglob("*.result.json"))
    assert results == ["RobotCell", "drone"]  # the file names say the same names
