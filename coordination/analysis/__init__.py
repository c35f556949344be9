"""Pure analysis functions: plain data in, plain data out; no session, no I/O."""
