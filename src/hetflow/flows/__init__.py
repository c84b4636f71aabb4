"""SeBS-Flow definitions run for real (interpreter.py) and unrolled for the simulator (unroll.py).

A client of the Session, as a user's program is: the interpreter submits each state's tasks through the Session's
public submit and map as soon as their payload is known, so modes, policies, resources and the journal apply to a
flow as to any dynamic workflow. The loader and the side file are spec's (spec/sebsflow.py, spec/flowside.py).
Imports: spec, runtime, errors.
"""
