"""Pure analyses over a snapshot of the data: overlaps, gaps and the stakeholder network.

Load a :class:`~coordination.analysis.snapshot.Snapshot` once (the only step that reads
the database), then call the functions of :mod:`.overlaps`, :mod:`.gaps` and
:mod:`.network` on it: plain data in, plain data (or a graph) out.
"""
