"""The AAS server extension: the HTTP service BaSyx delegates ``Optimize`` to, durable jobs and their
worker, re-optimisation on BaSyx events, and the OPC UA server; each a root over ``app.execute``."""
