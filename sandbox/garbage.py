"""The garbage collector: objects whose owners are all gone are deleted (background propagation).

As kube-controller-manager's garbagecollector (pkg/controller/garbagecollector, v1.29) does for a
``kubectl delete`` with the default ``propagationPolicy: Background``: once a Deployment is gone
its ReplicaSets go, then their pods (gracefully); once a Service is gone its EndpointSlices go.
An owner counts as present when an object of its kind, namespace, name and uid exists; an owner
of a kind the sandbox does not keep is assumed present. The endpoints controller's part is here
too: the Endpoints it keeps for a Service go with the Service. An owner deleted with
``propagationPolicy: Orphan`` or ``Foreground`` carries the finalizer the API server gives it
(``orphan``, ``foregroundDeletion``), and ``GarbageCollector`` honours it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sandbox import resources
from sandbox.endpointslices import ENDPOINTS_MANAGED_BY
from sandbox.resources import Resource
from sandbox.store import Store, now_rfc3339

ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"  # the finalizers of propagationPolicy

# The kinds whose objects may be owned, and the kinds their owners may be.
DEPENDENTS = (resources.REPLICA_SETS, resources.PODS, resources.ENDPOINT_SLICES)
OWNERS = {
    "Deployment": resources.DEPLOYMENTS,
    "ReplicaSet": resources.REPLICA_SETS,
    "Service": resources.SERVICES,
    "Pod": resources.PODS,
}


def orphans(objects: dict[Resource, list[dict]]) -> Iterable[tuple[Resource, dict]]:
    """The dependents (of ``DEPENDENTS``) none of whose owners exists, and the managed Endpoints
    whose Service is gone. ``objects`` holds every object of the kinds in DEPENDENTS and OWNERS."""
    present = {
        (kind, obj["metadata"].get("namespace", ""), obj["metadata"]["uid"])
        for kind, resource in OWNERS.items()
        for obj in objects.get(resource, [])
    }
    for resource in DEPENDENTS:
        for obj in objects.get(resource, []):
            metadata = obj["metadata"]
            owners = metadata.get("ownerReferences") or []
            if not owners or metadata.get("deletionTimestamp"):
                continue
            if not any(
                ref.get("kind") not in OWNERS
                or (ref.get("kind"), metadata.get("namespace", ""), ref.get("uid")) in present
                for ref in owners
            ):
                yield resource, obj
    services = {
        (s["metadata"].get("namespace", ""), s["metadata"]["name"])
        for s in objects.get(resources.SERVICES, [])
    }
    for endpoints in objects.get(resources.ENDPOINTS, []):
        metadata = endpoints["metadata"]
        managed = (metadata.get("labels") or {}).get(ENDPOINTS_MANAGED_BY[0]) == ENDPOINTS_MANAGED_BY[1]
        if managed and (metadata.get("namespace", ""), metadata["name"]) not in services:
            yield resources.ENDPOINTS, endpoints


def dependents(uid: str, objects: dict[Resource, list[dict]]) -> list[tuple[Resource, dict]]:
    """The objects (of DEPENDENTS) with an ownerReference to ``uid``."""
    return [
        (resource, obj)
        for resource in DEPENDENTS
        for obj in objects.get(resource, [])
        if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
    ]


class GarbageCollector:
    """Carries out ``orphans`` and the two deletion finalizers the API server puts on an owner
    deleted with ``propagationPolicy: Orphan`` (``orphan``: its dependents lose their
    ownerReference to it, and stay) or ``Foreground`` (``foregroundDeletion``: its dependents
    are deleted first, then it goes). ``delete_pod(pod)`` deletes a pod gracefully."""

    def __init__(self, store: Store, delete_pod: Callable[[dict], object]) -> None:
        self.store = store
        self.delete_pod = delete_pod

    def collect(self) -> None:
        kinds = {*DEPENDENTS, *OWNERS.values(), resources.ENDPOINTS}
        objects = {kind: self.store.list(kind, copy=False) for kind in kinds}  # read; changed via get
        for resource in OWNERS.values():
            for owner in objects[resource]:
                finalizers = owner["metadata"].get("finalizers") or []
                if owner["metadata"].get("deletionTimestamp") and {ORPHAN, FOREGROUND} & set(finalizers):
                    self._finalize(resource, owner, objects)
        for resource, obj in list(orphans(objects)):
            self._delete(resource, obj)

    def _finalize(self, resource: Resource, owner: dict, objects: dict[Resource, list[dict]]) -> None:
        owner = self._fresh(resource, owner)
        metadata = owner["metadata"]
        uid, finalizers = metadata["uid"], list(metadata["finalizers"])
        found = dependents(uid, objects)
        if ORPHAN in finalizers:
            for kind, dependent in found:
                dependent = self._fresh(kind, dependent)
                refs = [r for r in dependent["metadata"]["ownerReferences"] if r.get("uid") != uid]
                dependent["metadata"]["ownerReferences"] = refs
                if not refs:
                    del dependent["metadata"]["ownerReferences"]
                self.store.update(kind, dependent)
            finalizers.remove(ORPHAN)
        elif FOREGROUND in finalizers:
            if found:
                for kind, dependent in found:
                    if not dependent["metadata"].get("deletionTimestamp"):
                        self._delete(kind, dependent, foreground=True)
                return
            finalizers.remove(FOREGROUND)
        if finalizers:
            metadata["finalizers"] = finalizers
            self.store.update(resource, owner)
        else:
            self.store.delete(resource, metadata.get("namespace", ""), metadata["name"])

    def _fresh(self, resource: Resource, obj: dict) -> dict:
        """A copy of ``obj`` as stored now, to change and write back (``collect`` reads the
        stored objects themselves)."""
        metadata = obj["metadata"]
        return self.store.get(resource, metadata.get("namespace", ""), metadata["name"]) or obj

    def _delete(self, resource: Resource, obj: dict, *, foreground: bool = False) -> None:
        metadata = obj["metadata"]
        if resource is resources.PODS:
            self.delete_pod(obj)
        elif foreground and dependents(
            metadata["uid"], {r: self.store.list(r, copy=False) for r in DEPENDENTS}
        ):
            obj = self._fresh(resource, obj)
            metadata = obj["metadata"]
            metadata["finalizers"] = [*(metadata.get("finalizers") or []), FOREGROUND]
            metadata["deletionTimestamp"] = now_rfc3339()
            self.store.update(resource, obj)
        else:
            self.store.delete(resource, metadata.get("namespace", ""), metadata["name"])
