"""The dashboard's own refusals: commands it understood and will not carry out."""

from __future__ import annotations


class Refused(Exception):
    """A command the engine will not carry out (chaos off, a pod that is not an endpoint, a run
    that is not running here...). ``code`` goes to the client as the ``error`` message's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
