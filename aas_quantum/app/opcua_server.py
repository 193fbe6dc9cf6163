"""The OPC UA server as a root over ``execute``: it shows each product's latest result and its
``Optimize`` method runs a product again, exactly as the CLI would."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence

from aas_quantum.aas import mapping
from aas_quantum.aas.files import read_files
from aas_quantum.app.events import Listener
from aas_quantum.app.execute import OutcomeStatus, execute
from aas_quantum.app.outputs import ResultFiles
from aas_quantum.app.repository import Repository
from aas_quantum.app.request import RunRequest
from aas_quantum.errors import AasQuantumError
from aas_quantum.problem import build_problem, product_number
from aas_quantum.publish.opcua import OpcUaResultServer, OpcUaServerSettings
from aas_quantum.solvers import DEFAULT_METHOD, get_solver
from aas_quantum.summary import RunSummary


class OptimizeFailed(AasQuantumError):
    """A run the Optimize method started did not produce a result; the message is its reason."""


def latest_results(repository: Repository, template: RunRequest) -> tuple[dict[str, str], list[RunSummary]]:
    """Each product's id -> shell id, and the saved results (the output folder's, else the repository's)."""
    products: dict[str, str] = {}
    latest: list[RunSummary] = []
    for shell_id in repository.products():
        env = repository.read(shell_id)
        saved_file = ResultFiles.of(template.out, shell_id).aasx
        saved_env = read_files([saved_file]) if saved_file.is_file() else env
        saved = mapping.saved_run(saved_env, mapping.product_shell(saved_env, shell_id))
        if saved is None:
            products[build_problem(mapping.read_catalog(env, mapping.product_shell(env, shell_id))).product_id] = \
                shell_id
        else:
            products[saved[2].product_id] = shell_id
            latest.append(saved[2])
    return products, latest


def serve(settings: OpcUaServerSettings, repository: Repository, template: RunRequest,
          listeners: Sequence[Listener], announce: Callable[[str], None]) -> None:
    """Serve until cancelled; ``template`` is the request each Optimize call runs (its product set)."""
    products, latest = latest_results(repository, template)
    for name in {"exact", "greedy", template.method or DEFAULT_METHOD}:
        get_solver(name)  # a server loads its solvers before it is ready, not in its first call

    def run_product(product_id: str) -> RunSummary:
        shell_id = products.get(product_id)
        if shell_id is None:
            raise OptimizeFailed(f"unknown product {product_id!r}; known: {', '.join(products)}")
        outcome = execute(dataclasses.replace(template, product=shell_id), repository, listeners)
        if outcome.status != OutcomeStatus.OK or outcome.summary is None:
            raise OptimizeFailed(outcome.reason)
        announce(f"optimised {product_id}: {outcome.summary.kpis.total_cost:.2f} {outcome.summary.currency} "
                 f"({outcome.summary.solver.method})")
        return outcome.summary

    async def main() -> None:
        opc = await OpcUaResultServer(settings, run_product).start()
        for summary in latest:
            await opc.show(summary, (products[summary.product_id],))
        for product_id, shell_id in products.items():  # Optimize accepts the id, its last segment, the shell
            opc.aliases.setdefault(shell_id, product_id)
            opc.aliases.setdefault(product_number(product_id), product_id)
        announce(f"ready: OPC UA server at {settings.endpoint} with {len(latest)} result(s), "
                 f"{len(products)} product(s)")
        try:
            await asyncio.Event().wait()
        finally:
            await opc.stop()

    asyncio.run(main())
