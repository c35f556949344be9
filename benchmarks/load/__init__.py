"""Load test: ``coordination serve`` under concurrent readers and writers (see docs/operations.md)."""
