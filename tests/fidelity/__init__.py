"""The fidelity suite's scenarios, by area (run by tests/test_fidelity.py).

Each module's ``SCENARIOS`` is a list of ``Scenario``s whose steps run against the real API server
and the sandbox's; ``tests.support.fidelity`` holds the runner, the masks and the expectations.
"""
