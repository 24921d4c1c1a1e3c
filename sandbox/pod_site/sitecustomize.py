"""Loaded by Python at start-up in every sandbox pod (this folder is first on its PYTHONPATH).

It stands in for the pod's ``/etc/resolv.conf``: cluster names resolve through the sandbox's
cluster DNS, for Python's resolver and for gRPC's (see ``sandbox.resolver``). Outside a sandbox
pod (no ``SANDBOX_NAMESERVER``), or in a Python without the project installed, it does nothing.
"""

try:
    from sandbox import pod_source, resolver
except ImportError:  # a Python that is not the project's: nothing to set up
    pass
else:
    resolver.install_from_environment()
    pod_source.install_from_environment()  # its calls come from its own IP
