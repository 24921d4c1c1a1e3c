"""Defaulting, as the real API server does it before it stores an object.

``apply_defaults(resource, obj)`` fills in, in place, the fields the API server's defaulting
functions set (the ``SetDefaults_*`` of ``pkg/apis/*/v1/defaults.go`` and the OpenAPI schemas'
``default`` values): a Service's ``type``, ``sessionAffinity``, ports' ``protocol`` and
``targetPort``; a Deployment's strategy, ``revisionHistoryLimit``, ``progressDeadlineSeconds``;
a pod template's ``restartPolicy``, ``dnsPolicy``, containers' ``imagePullPolicy``,
``terminationMessagePath``... Called on create, replace, patch and apply, never on reads.
"""

from __future__ import annotations

from sandbox.resources import Resource


def apply_defaults(resource: Resource, obj: dict) -> None:
    """Fill in ``obj``'s defaulted fields, in place; fields already set are left alone."""
