"""What a person watching or reviewing a run sees: the solver's own progress while it runs, and the
run's figure (--plot), both checked against the run they describe."""

from __future__ import annotations

import itertools
import re
import struct
import time
from pathlib import Path

import pytest

from aas_quantum import plots
from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files
from aas_quantum.app import FileRepository, RequestOverrides, RunRequest, RunState, execute
from aas_quantum.cli import app
from aas_quantum.problem import build_problem
from aas_quantum.run import optimize
from aas_quantum.solvers import SolveOptions, get_solver
from aas_quantum.solvers.base import SolverProgress

from tests.support import LARGE, SMALL


def _problem(path: Path):
    env = read_files([path])
    return build_problem(mapping.read_catalog(env, mapping.product_shell(env)))


def test_qaoa_tells_the_observer_every_evaluation_and_its_best_energy():
    heard: list[SolverProgress] = []
    solution = get_solver("qaoa").solve(_problem(SMALL), SolveOptions(maxiter=40, observer=heard.append))
    assert [p.steps for p in heard] == list(range(1, solution.record.evaluations + 1))
    trace = solution.record.details["energy_trace"]
    assert heard[-1].best == pytest.approx(min(trace["energy"]), rel=1e-5)  # the thinned trace keeps the best here
    assert all(a.best >= b.best for a, b in itertools.pairwise(heard))  # best so far never rises
    assert trace["evaluation"][-1] == solution.record.evaluations


def test_a_run_reports_the_hybrids_windows_at_most_once_a_second():
    events = []
    # random windows take milliseconds even on a loaded machine: many windows, so the throttle is what is seen
    # (QAOA windows took over a second each next to CPU load, and gave one report in the 4 s)
    request = RunRequest(
        method="hybrid", parameters={"time_limit_s": 4.0, "patience": 0, "sub_solver": "random"}, dry_run=True
    )
    outcome = execute(request, FileRepository([LARGE]), [lambda e: events.append((time.monotonic(), e))])
    assert outcome.summary is not None
    detailed = [(t, e) for t, e in events if e.state is RunState.SOLVING and e.detail]
    assert len(detailed) >= 2
    assert all(later - earlier >= 0.9 for (earlier, _), (later, _) in itertools.pairwise(detailed))
    bests = [float(re.search(r"best objective ([\d,.]+)", e.detail).group(1).replace(",", "")) for _, e in detailed]
    assert all(a >= b for a, b in itertools.pairwise(bests))  # the search only accepts gains
    assert bests[-1] >= outcome.summary.kpis.objective - 0.005  # the run returns its best (or a better baseline)
    assert [e.progress for _, e in detailed] == sorted(e.progress for _, e in detailed)


def test_run_figure_draws_chosen_against_greedy_per_position():
    problem = _problem(SMALL)
    report = optimize(problem, "exact", SolveOptions())
    figure = plots.run_figure(problem, report)
    chosen_bars, greedy_bars = figure.axes[0].containers
    assert [b.get_height() for b in chosen_bars] == pytest.approx([ln.extended_price for ln in report.lines])
    assert [b.get_height() for b in greedy_bars] == pytest.approx(
        [p.options[k].extended_price for p, k in zip(problem.positions, report.greedy_choice, strict=True)]
    )
    limits = figure.axes[1].containers[0]
    assert len(limits) == len(report.constraints)
    assert len(figure.axes) == 2  # exact has no energies: no distribution or convergence panels


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_cli_plot_writes_png_svg_and_html(tmp_path, cli):
    out = tmp_path / "out"
    result = cli.invoke(
        app,
        [
            "optimize",
            str(SMALL),
            "--solver",
            "qaoa",
            "--maxiter",
            "30",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "run.png"),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    width, height = _png_size(tmp_path / "run.png")
    assert width > 800 and height > 600  # four panels: costs, limits, energy distribution, convergence
    assert "plot written to" in " ".join(result.output.split())
    for name, marker in (("run.svg", "<svg"), ("run.html", "data:image/png;base64,")):
        result = cli.invoke(
            app,
            [
                "optimize",
                str(SMALL),
                "--solver",
                "greedy",
                "--out",
                str(out),
                "--plot",
                str(tmp_path / name),
                "--quiet",
            ],
        )
        assert result.exit_code == 0, result.output
        assert marker in (tmp_path / name).read_text()


def test_cli_plot_refuses_an_unknown_format_and_a_dry_run(tmp_path, cli):
    bad = cli.invoke(app, ["optimize", str(SMALL), "--out", str(tmp_path), "--plot", str(tmp_path / "x.jpg")])
    assert bad.exit_code == 2 and ".png, .svg, .html" in bad.output
    dry = cli.invoke(app, ["optimize", str(SMALL), "--dry-run", "--plot", str(tmp_path / "x.png")])
    assert dry.exit_code == 2 and "--dry-run writes nothing" in " ".join(dry.output.split())
    assert not list(tmp_path.iterdir())


def test_a_terminal_sees_the_solver_progress_live(tmp_path):
    """On a terminal (a real pseudo-terminal here) the status line shows the stage and the solver's
    own progress while it runs, not only when it ends."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.support import REPO

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aas_quantum.cli",
            "optimize",
            str(LARGE),
            "--solver",
            "hybrid",
            "--time-limit",
            "5",
            "--param",
            "patience=0",
            "--param",
            "sub_solver=random",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
        env=dict(os.environ, TERM="xterm-256color", COLUMNS="200"),
    )
    os.close(follower)
    seen, during = b"", b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
            if b"result written to" not in seen:
                during = seen  # what the terminal showed before the run ended
    process.wait(timeout=60)
    os.close(leader)
    assert process.returncode == 0, seen.decode(errors="replace")[-2000:]
    text = during.decode(errors="replace")
    # the first stage, and the solver's own progress: a stage shorter than the spinner's refresh (the exact
    # baseline of this product takes a fraction of a second) may never be drawn on a fast machine
    assert "reading inputs" in text
    assert re.search(r"hybrid \(\d+%, \d+ windows, best objective [\d,.]+\)", text), text[-2000:]


def _drone_runs():
    """The drone solved two ways: exactly (two panels) and by QAOA (the energy panels too)."""
    problem = _problem(SMALL)
    return [
        (problem, optimize(problem, "exact", SolveOptions())),
        (problem, optimize(problem, "qaoa", SolveOptions(maxiter=30))),
    ]


def test_run_figure_keeps_every_label_inside_the_figure():
    for problem, report in _drone_runs():
        figure = plots.run_figure(problem, report)
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        box = figure.bbox
        texts = [figure._suptitle] if figure._suptitle is not None else []
        for axes in figure.axes:
            for axis in (axes.xaxis, axes.yaxis):
                low, high = sorted(axis.get_view_interval())
                margin = (high - low) * 1e-9
                # matplotlib keeps labels for ticks past the view too; only those in it are drawn
                texts += [
                    tick.label1 for tick in axis.get_major_ticks() if low - margin <= tick.get_loc() <= high + margin
                ]
                texts.append(axis.label)
            texts += [axes.title, *axes.texts]  # the texts include the "binding" marks
        drawn = [t for t in texts if t.get_visible() and t.get_text()]
        assert len(drawn) > 10
        for text in drawn:
            extent = text.get_window_extent(renderer)
            assert (
                extent.x0 >= box.x0 - 0.5
                and extent.y0 >= box.y0 - 0.5
                and extent.x1 <= box.x1 + 0.5
                and extent.y1 <= box.y1 + 0.5
            ), (report.solution.record.method, text.get_text(), extent, box)
        # and in full: "Incompatible[ESC-4IN1-45A|MOT-2…" did not say which motor
        shown = {t.get_text().replace("\n", "") for t in figure.axes[1].get_yticklabels()}
        assert shown == {c.name for c in report.constraints}
        assert max(len(c.name) for c in report.constraints) > 32  # the drone has names the old cut shortened


def test_run_figure_names_the_scale_of_each_energy_axis():
    problem, report = _drone_runs()[1]
    figure = plots.run_figure(problem, report)
    distribution, convergence = figure.axes[2], figure.axes[3]
    energy_label, trace_label = distribution.get_xlabel(), convergence.get_ylabel()
    assert energy_label and trace_label and energy_label != trace_label
    assert report.currency in energy_label  # the encoded energies are in the objective's cost units
    assert "dimensionless" in trace_label and report.currency not in trace_label  # the optimiser's normalised scale


def test_run_figure_marks_a_binding_limit():
    env = read_files([SMALL])
    catalog = mapping.read_catalog(env, mapping.product_shell(env))
    optimum = optimize(build_problem(catalog), "exact", SolveOptions())
    # a budget equal to the optimum's cost: the optimum is still the best and spends it to the cent
    problem = build_problem(RequestOverrides(budget=optimum.kpis.total_cost).apply(catalog))
    report = optimize(problem, "exact", SolveOptions())
    budget = next(c for c in report.constraints if c.name == "Budget")
    assert budget.slack == pytest.approx(0, abs=1e-6)
    limits = plots.run_figure(problem, report).axes[1]
    row = [t.get_text() for t in limits.get_yticklabels()].index("Budget")
    marks = [t for t in limits.texts if t.get_text() == "binding"]
    assert len(marks) == sum(abs(c.slack) <= 1e-6 * max(1.0, abs(c.bound)) for c in report.constraints) >= 1
    assert any(abs(t.get_position()[1] - row) < 0.5 for t in marks)  # on the budget's row
    markers = [line for line in limits.lines if line.get_label() == "binding"]
    assert markers and row in list(markers[0].get_ydata()) and markers[0].get_marker() not in ("", "None")
