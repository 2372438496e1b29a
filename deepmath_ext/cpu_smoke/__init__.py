"""`deepmath train --smoke-cpu` and the test suite's CPU runs: a recipe scaled down to a tiny model on a CPU.

Kept apart from everything a GPU run loads: `smoke` plans the run, `tiny_model` builds the random model, and
`cpu_platform` holds verl's CPU platform and every work-around of verl and vLLM internals it needs. Those
patches install only in processes started with the smoke's environment (`cpu_platform.ENVIRONMENT`) and refuse
to install in a process that sees a GPU; a normal launch never imports this package
(tests/test_cpu_smoke_isolation.py).
"""
