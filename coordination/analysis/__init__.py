"""Pure analyses: plain data in, plain data (or a graph) out; no session, no I/O.

Load a snapshot once (the only step that reads the database: ``snapshot`` for
overlaps, gaps and the network, ``progress`` for the results framework), then call
the pure functions on it.
"""
