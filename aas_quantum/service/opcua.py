"""The OPC UA server as a root over the job runner: it shows each product's latest result and its
``Optimize`` method queues a run of a product (run by ``execute``, exactly as the CLI would) and
answers at once with the job id; the job's node and the product's Status follow the run. A product
has at most one queued run: calling ``Optimize`` again while it waits answers with the same job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from aas_quantum.aas import mapping, read_files
from aas_quantum.app import Listener, ProductInput, Repository, ResultFiles, RunEvent, RunRequest, RunState
from aas_quantum.bulk import long_running
from aas_quantum.errors import AasQuantumError
from aas_quantum.problem import product_name
from aas_quantum.publish import OpcUaResultServer, OpcUaServerSettings
from aas_quantum.service.jobs import JobSpec, open_store
from aas_quantum.service.worker import JobRunner, current_job
from aas_quantum.solvers import DEFAULT_METHOD, get_solver
from aas_quantum.summary import RunSummary


class OptimizeFailed(AasQuantumError):
    """A run the Optimize method started did not produce a result; the message is its reason."""


def latest_results(repository: Repository, template: RunRequest) -> tuple[dict[str, str], list[RunSummary]]:
    """Each product's id -> shell id, and the saved results (the output folder's, else the repository's)."""
    products: dict[str, str] = {}
    latest: list[RunSummary] = []
    for shell_id in repository.products():
        product = ProductInput.read(repository, shell_id)
        saved_file = ResultFiles.of(template.out, shell_id, product.catalog().product_name).aasx
        saved_env = read_files([saved_file]) if saved_file.is_file() else product.environment
        saved = mapping.saved_run(saved_env, mapping.product_shell(saved_env, shell_id))
        if saved is None:
            products[product.problem().product_id] = shell_id
        else:
            products[saved[2].product_id] = shell_id
            latest.append(saved[2])
    return products, latest


class _NodeBridge:
    """A run listener (called on a runner thread) handing each job event to the OPC UA server's loop."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.announce = announce
        self.server: OpcUaResultServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, server: OpcUaResultServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server, self.loop = server, loop

    def __call__(self, event: RunEvent) -> None:
        job = current_job.get()
        if job is None or self.server is None or self.loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.server.follow(
            job[0], event.product_id, event.state.value, event.progress, event.stage, event.message, event.run_id,
            event.summary), self.loop)
        if event.state is RunState.DONE and event.summary is not None:
            future.result(timeout=60)  # the nodes show the result before the job counts as done
            self.announce(f"optimised {event.summary.product_id}: {event.summary.kpis.total_cost:.2f} "
                          f"{event.summary.currency} ({event.summary.solver.method})")


def serve_opcua(settings: OpcUaServerSettings, repository: Callable[[], Repository], template: RunRequest,
          listeners: Sequence[Listener], announce: Callable[[str], None], data_dir: Path) -> None:
    """Serve until cancelled. ``Optimize`` queues a job (a SQLite store in ``data_dir``) and answers at
    once; the runner executes it like any other run and the job's events update the nodes."""
    long_running()  # run after run: each run's package goes back to the collector when it ends
    startup = repository()
    try:
        products, latest = latest_results(startup, template)
    finally:
        startup.close()
    for name in {"exact", "greedy", template.method or DEFAULT_METHOD}:
        get_solver(name)  # a server loads its solvers before it is ready, not in its first call
    store = open_store("", data_dir)
    bridge = _NodeBridge(announce)
    runner = JobRunner(store, repository, template, [bridge, *listeners], worker_id="opcua-server")

    def submit(product_id: str) -> str:
        shell_id = products.get(product_id)
        if shell_id is None:
            raise OptimizeFailed(f"unknown product {product_id!r}; known: {', '.join(products)}")
        # one queued run per product: a second call while one waits answers with that job (it reads the
        # newest inputs when it runs); a call while one runs queues the next
        job, _ = store.submit(JobSpec(product=shell_id, method=template.method, origin="opcua"), f"opcua:{shell_id}")
        runner.wake()
        return job.job_id

    async def main() -> None:
        opc = await OpcUaResultServer(settings, submit).start()
        bridge.attach(opc, asyncio.get_running_loop())
        for summary in latest:
            await opc.show(summary, (products[summary.product_id],))
        for product_id, shell_id in products.items():  # Optimize accepts the id, its last segment, the shell
            opc.aliases.setdefault(shell_id, product_id)
            opc.aliases.setdefault(product_name(product_id), product_id)
        await asyncio.to_thread(runner.start)
        announce(f"ready: OPC UA server at {settings.endpoint} with {len(latest)} result(s), "
                 f"{len(products)} product(s)")
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(runner.stop, 10.0)
            await opc.stop()
            store.close()

    asyncio.run(main())
