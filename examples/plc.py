"""A stand-in for a line controller's OPC UA server, so ``optimize --opcua`` has nodes to write into.

``aas-quantum opcua-server`` serves results read-only (they are the tool's own), so the client mode
needs a server of its own: this one holds the writable nodes ``examples/aas-quantum.toml`` maps
(``Line7.BomCost``, ``Line7.Solver``, ``Line7.Pos<n>.Part``). Local demo only: anonymous, no security,
on 127.0.0.1. Usage: ``python examples/plc.py [opc.tcp://127.0.0.1:4841/plc]``; prints ``ready`` once
it listens, runs until stopped (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from asyncua import Server, ua

POSITIONS = 8  # part nodes Line7.Pos1.Part ... (the samples have at most this many positions per product)


async def main(endpoint: str) -> None:
    server = Server()
    await server.init()
    server.set_endpoint(endpoint)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:aas-quantum:example:plc")
    line = await server.nodes.objects.add_object(ua.NodeId("Line7", ns), "Line7")
    variables = [
        await line.add_variable(ua.NodeId("Line7.BomCost", ns), "BomCost", 0.0),
        await line.add_variable(ua.NodeId("Line7.Solver", ns), "Solver", ""),
    ]
    for index in range(1, POSITIONS + 1):
        variables.append(await line.add_variable(ua.NodeId(f"Line7.Pos{index}.Part", ns), f"Pos{index}Part", ""))
    for variable in variables:
        await variable.set_writable()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        print(f"ready: demo PLC at {endpoint} (namespace {ns})", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "opc.tcp://127.0.0.1:4841/plc"))
