"""Plots of one run for whoever reviews it (``optimize --plot``): the chosen selection against greedy's
per position, how much room each limit has left and, for QAOA and VQE, the final state's energy
distribution and the optimiser's convergence. PNG, SVG, or one self-contained HTML page.

matplotlib is imported when a plot is drawn, never on import (the CLI starts without it).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from pathlib import Path
from typing import Any

from aas_quantum.atomic import atomic_write
from aas_quantum.errors import ConfigError
from aas_quantum.problem import BomProblem
from aas_quantum.report import ConstraintStatus, Report

PLOT_SUFFIXES = (".png", ".svg", ".html")
MAX_BARS = 60  # more positions than this: the per-position differences, sorted, instead of bars
MAX_LIMITS = 30  # the tightest limits shown


def check_plot_path(path: Path) -> Path:
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ConfigError(f"--plot {path}: the file must end in {', '.join(PLOT_SUFFIXES)}")
    return path


def png_data_uri(figure: Any) -> str:
    """``figure`` as an inline PNG for an HTML page (and closed: figures hold memory until closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def run_figure(problem: BomProblem, report: Report) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = report.solution.record.details
    variational = "energy_trace" in details
    # constrained layout sizes the margins from the labels as drawn (full limit names, rotated ticks,
    # the title), for the figure itself and not only for a file saved with bbox_inches="tight"
    figure, axes = plt.subplots(
        2 if variational else 1, 2, figsize=(13, 8.5 if variational else 4.5), squeeze=False, layout="constrained"
    )
    _cost_per_position(axes[0][0], problem, report)
    _limits(axes[0][1], report)
    if variational:
        _energy_distribution(axes[1][0], details["energy_distribution"], report.solution.record.method, report.currency)
        _convergence(axes[1][1], details["energy_trace"])
    figure.suptitle(
        f"{report.product_id}: {report.solution.record.method}, objective "
        f"{report.kpis.objective:,.2f} {report.currency}",
        fontsize=11,
    )
    return figure


def _cost_per_position(axes: Any, problem: BomProblem, report: Report) -> None:
    chosen = [ln.extended_price for ln in report.lines]
    names = [ln.position_id for ln in report.lines]
    greedy_choice = report.greedy_choice
    greedy = (
        [p.options[k].extended_price for p, k in zip(problem.positions, greedy_choice, strict=True)]
        if greedy_choice is not None
        else None
    )
    axes.set_title("Cost per position: chosen vs greedy", fontsize=10)
    if len(chosen) <= MAX_BARS:
        x = range(len(chosen))
        axes.bar([i - 0.2 for i in x], chosen, 0.4, label="chosen")
        if greedy is not None:
            axes.bar([i + 0.2 for i in x], greedy, 0.4, label="greedy")
        axes.set_xticks(list(x), [n[-12:] for n in names], rotation=60, ha="right", fontsize=7)
        axes.set_ylabel(f"extended price, {report.currency}")
        axes.legend(fontsize=8)
    elif greedy is not None:  # too many for bars: where the two differ, sorted
        delta = sorted(c - g for c, g in zip(chosen, greedy, strict=True))
        axes.plot(range(len(delta)), delta)
        axes.axhline(0, color="grey", linewidth=0.8)
        axes.set_xlabel(f"{len(delta):,} positions, sorted")
        axes.set_ylabel(f"chosen - greedy, {report.currency}")


def _limits(axes: Any, report: Report) -> None:
    """Slack as a share of each limit's bound: 0 = binding, negative = broken. A binding limit's bar has
    no length, so it gets a marker and the word: an empty row read as missing data."""
    axes.set_title("Room left per limit (slack / bound)", fontsize=10)
    limits = [
        (c.name, c.slack / abs(c.bound) if c.bound else c.slack, c.satisfied, _binding(c)) for c in report.constraints
    ]
    if not limits:
        axes.text(0.5, 0.5, "the request sets no limits", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    limits = sorted(limits, key=lambda item: item[1])[:MAX_LIMITS]
    rows = range(len(limits))
    axes.barh(
        list(rows),
        [share for _, share, _, _ in limits],
        color=["tab:green" if ok else "tab:red" for _, _, ok, _ in limits],
    )
    axes.set_yticks(list(rows), [_wrapped(name) for name, _, _, _ in limits])
    binding = [row for row, (_, _, _, tight) in zip(rows, limits, strict=True) if tight]
    if binding:
        axes.plot([0.0] * len(binding), binding, "D", color="tab:orange", markersize=5, label="binding", clip_on=False)
        for row in binding:
            axes.annotate(
                "binding",
                (0.0, row),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="tab:orange",
            )
        low, high = axes.get_xlim()
        axes.set_xlim(low, max(high, 0.3 * (high - low)))  # room right of 0 for the word
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_xlabel("slack / |bound|")


def _binding(constraint: ConstraintStatus) -> bool:
    """At its bound to rounding (a budget met to the cent sums prices in floating point)."""
    return constraint.satisfied and abs(constraint.slack) <= 1e-9 * max(1.0, abs(constraint.bound))


def _wrapped(name: str, width: int = 32) -> str:
    """A long limit name over two lines at its last separator before ``width``, in full: cut short,
    "Incompatible[ESC-4IN1-45A|MOT-2…" did not say which motor."""
    if len(name) <= width:
        return name
    cut = max(name.rfind(sep, 0, width) for sep in "[|>,")
    return name if cut <= 0 else name[: cut + 1] + "\n" + name[cut + 1 :]


def _energy_distribution(axes: Any, distribution: dict[str, float], method: str, currency: str) -> None:
    """Where the final state's probability sits in energy: its quantiles against the lowest energy of
    any basis state in its support (the optimiser pushes the mass towards it). These are the encoding's
    energies as built, in the objective's cost units; the convergence panel's are normalised."""
    axes.set_title(f"{method}: energy of the final state", fontsize=10)
    marks = [
        (name, distribution[key])
        for name, key in (
            ("lowest", "min_sampled_support"),
            ("1 %", "q01"),
            ("10 %", "q10"),
            ("median", "q50"),
            ("mean", "mean"),
            ("90 %", "q90"),
        )
        if key in distribution
    ]
    axes.barh([name for name, _ in marks], [value for _, value in marks], color="tab:purple")
    axes.set_xlabel(f"encoded energy, {currency} (objective plus penalty terms)")


def _convergence(axes: Any, trace: dict[str, list[float]]) -> None:
    """The energies the optimiser saw: the encoded ones shifted and scaled to mean 0, spread 1 over the
    basis states (one parameter range suits every problem), so not in cost units."""
    axes.set_title("Optimiser convergence", fontsize=10)
    energies = trace["energy"]
    best = list(itertools.accumulate(energies, min))
    axes.plot(trace["evaluation"], energies, ".", markersize=3, alpha=0.5, label="evaluated")
    axes.plot(trace["evaluation"], best, "-", label="best so far")
    axes.set_xlabel("evaluation")
    axes.set_ylabel("normalised energy (dimensionless: mean 0, spread 1)")
    axes.legend(fontsize=8)


def write_plot(path: Path, problem: BomProblem, report: Report) -> Path:
    """The run's figure as ``path`` (.png, .svg, or .html with the PNG inside), written atomically."""
    check_plot_path(path)
    figure = run_figure(problem, report)
    suffix = path.suffix.lower()
    if suffix == ".html":
        title = html.escape(f"{report.product_id}: {report.solution.record.method}")
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<h1>{title}</h1><img alt='{title}' src='{png_data_uri(figure)}'></body></html>\n"
        )
        with atomic_write(path) as fh:
            fh.write(page)
        return path
    import matplotlib.pyplot as plt

    with atomic_write(path, "wb") as fh:
        figure.savefig(fh, format=suffix[1:], dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
