"""``lookout bench``: load generation against MCP servers, run history, regression comparison and export.

The load engine (:mod:`lookout.bench.load`) drives any transport through a small
``Session.send(operation) -> Outcome`` interface; :mod:`lookout.bench.client` adapts the prober's lean
JSON-RPC client to it.
"""
