"""Services: the only code that changes data.

Each is a ``verb_noun(session, ...)`` function. They validate, add and flush; the
caller owns the transaction and commits (or rolls back).
"""
