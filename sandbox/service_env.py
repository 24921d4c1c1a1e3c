"""The Service environment variables a kubelet gives every container, as it computes them.

For each Service that exists when the container starts, in the pod's namespace (unless the pod
says ``enableServiceLinks: false``), plus the ``kubernetes`` Service of ``default`` in every
pod, a kubelet adds (``pkg/kubelet/envvars``, names upper-cased, ``-`` made ``_``)::

    K8S_COMBAT_SERVICE_SERVICE_HOST=127.0.10.1          # the ClusterIP
    K8S_COMBAT_SERVICE_SERVICE_PORT=8081                # the first port
    K8S_COMBAT_SERVICE_SERVICE_PORT_APP=8081            # each named port
    K8S_COMBAT_SERVICE_PORT=tcp://127.0.10.1:8081       # Docker links style, first port
    K8S_COMBAT_SERVICE_PORT_8081_TCP=tcp://127.0.10.1:8081
    K8S_COMBAT_SERVICE_PORT_8081_TCP_PROTO=tcp
    K8S_COMBAT_SERVICE_PORT_8081_TCP_PORT=8081
    K8S_COMBAT_SERVICE_PORT_8081_TCP_ADDR=127.0.10.1

Services without a ClusterIP (headless, ExternalName) get none. What the container's own ``env``
declares wins over these (the kubelet only adds the names the container does not set).
"""

from __future__ import annotations

from collections.abc import Iterable

MASTER_SERVICES = ("kubernetes",)  # given to every pod, from the default namespace


def variable_name(name: str) -> str:
    """``k8s-combat-service`` -> ``K8S_COMBAT_SERVICE`` (the kubelet's makeEnvVariableName)."""
    return name.replace("-", "_").upper()


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"  # net.JoinHostPort


def has_cluster_ip(service: dict) -> bool:
    return (service.get("spec") or {}).get("clusterIP") not in (None, "", "None")


def of_service(service: dict) -> dict[str, str]:
    """The variables of one Service (FromServices and makeLinkVariables)."""
    spec = service["spec"]
    ports = spec.get("ports") or []
    if not has_cluster_ip(service) or not ports:
        return {}
    prefix = variable_name(service["metadata"]["name"])
    ip = spec["clusterIP"]
    env = {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(ports[0]["port"])}
    for port in ports:
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{variable_name(port['name'])}"] = str(port["port"])
    for index, port in enumerate(ports):
        protocol = port.get("protocol") or "TCP"
        url = f"{protocol.lower()}://{_host_port(ip, port['port'])}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        port_prefix = f"{prefix}_PORT_{port['port']}_{protocol.upper()}"
        env[port_prefix] = url
        env[f"{port_prefix}_PROTO"] = protocol.lower()
        env[f"{port_prefix}_PORT"] = str(port["port"])
        env[f"{port_prefix}_ADDR"] = ip
    return env


def for_pod(services: Iterable[dict], *, namespace: str, enable_service_links: bool = True) -> dict[str, str]:
    """The variables of a pod in ``namespace``, from every Service that exists now
    (the kubelet's getServiceEnvVarMap)."""
    chosen: dict[str, dict] = {}
    for service in services:
        if not has_cluster_ip(service):
            continue
        metadata = service["metadata"]
        name, service_namespace = metadata["name"], metadata.get("namespace", "default")
        if service_namespace == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif service_namespace == namespace and enable_service_links:
            chosen[name] = service
    env: dict[str, str] = {}
    for service in chosen.values():
        env.update(of_service(service))
    return env
