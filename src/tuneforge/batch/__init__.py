"""Batch work over a stream of inputs: predictions of a file in chunks, on one process or on
an existing engine of many (Ray Data), in the input's order.

``BatchJob`` is what every worker needs to redo the work on its own (picklable: paths and
settings, never a loaded model); ``ENGINES`` is the table of ways to run it.
"""
