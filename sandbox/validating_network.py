"""Validation of Services, EndpointSlices and Endpoints, as the real API server does it (v1.29).

Sources: ``ValidateService``/``ValidateServiceUpdate`` (``pkg/apis/core/validation``: ports,
names, protocols, target ports, selector, session affinity, cluster IPs and their immutability,
type, node ports, traffic policies), ``ValidateEndpointSlice`` (``pkg/apis/discovery/validation``:
addresses per ``addressType``, node and host names, ports, the immutable ``addressType``) and
``ValidateEndpoints``.

One deliberate difference: the sandbox's pod network is on loopback (``127.x``), so endpoint
addresses in ``127.0.0.0/8`` and ``::1`` are accepted (``LOOPBACK_IS_POD_NETWORK``), where a real
server refuses them with "may not be in the loopback range (127.0.0.0/8, ::1/128)". Set it to
False to get the real server's answer.
"""

from __future__ import annotations

from sandbox import name_formats as formats
from sandbox.field_errors import FieldErrors, GoValue, go_quote, go_strings
from sandbox.validating_meta import _dicts, _int, labels, port_number_or_name
from sandbox.validating_pods import PROTOCOLS

LOOPBACK_IS_POD_NETWORK = True


def _service_port(errors: FieldErrors, port: dict, at: str, named: bool, names: set[str]) -> None:
    name = port.get("name") or ""
    if named and not name:
        errors.required(f"{at}.name")
    elif name:
        errors.all_invalid(f"{at}.name", name, formats.is_dns1123_label(name))
        if name in names:
            errors.duplicate(f"{at}.name", name)
        names.add(name)
    errors.all_invalid(f"{at}.port", _int(port.get("port")), formats.is_port_number(_int(port.get("port"))))
    protocol = port.get("protocol") or ""
    if not protocol:
        errors.required(f"{at}.protocol")
    elif protocol not in PROTOCOLS:
        errors.not_supported(f"{at}.protocol", protocol, PROTOCOLS)
    port_number_or_name(errors, port.get("targetPort", 0), f"{at}.targetPort")
    if port.get("appProtocol") is not None:
        errors.all_invalid(
            f"{at}.appProtocol", port["appProtocol"], formats.is_qualified_name(str(port["appProtocol"]))
        )


def service(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    kind, ports = spec.get("type") or "", _dicts(spec.get("ports"))
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    headless = ips[:1] == ["None"]
    if not ports and not headless and kind != "ExternalName":
        errors.required("spec.ports")
    if kind in ("LoadBalancer", "NodePort") and headless:
        errors.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")
    if kind == "ExternalName":
        if ips:
            errors.forbidden("spec.clusterIPs", "may not be set for ExternalName services")
        cname = str(spec.get("externalName") or "").removesuffix(".")
        if cname:
            errors.all_invalid("spec.externalName", cname, formats.is_dns1123_subdomain(cname))
        else:
            errors.required("spec.externalName")
    names: set[str] = set()
    for i, port in enumerate(ports):
        _service_port(errors, port, f"spec.ports[{i}]", len(ports) > 1, names)
    labels(errors, spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity") or ""
    if not affinity:
        errors.required("spec.sessionAffinity")
    elif affinity not in ("ClientIP", "None"):
        errors.not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None"))
    for i, ip in enumerate(ips):
        if not (i == 0 and ip == "None"):
            errors.all_invalid(f"spec.clusterIPs[{i}]", ip, formats.is_ip(str(ip)))
    if not kind:
        errors.required("spec.type")
    elif kind not in ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"):
        errors.not_supported("spec.type", kind, ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"))
    for i, port in enumerate(ports):
        if kind == "ClusterIP" and _int(port.get("nodePort")):
            errors.forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
    seen = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol") or "", _int(port.get("port")))
        if key in seen:
            shown = f'core.ServicePort{{Name:"", Protocol:{go_quote(key[0])}, AppProtocol:(*string)(nil), '
            shown += (
                f'Port:{key[1]}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
            )
            errors.duplicate(f"spec.ports[{i}]", GoValue(shown))
        seen.add(key)
    external = kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP" and spec.get("externalIPs"))
    policy = spec.get("externalTrafficPolicy") or ""
    if not external and policy:
        errors.invalid(
            "spec.externalTrafficPolicy",
            policy,
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        )
    elif external and not policy:
        errors.required("spec.externalTrafficPolicy")
    elif external and policy not in ("Cluster", "Local"):
        errors.not_supported("spec.externalTrafficPolicy", policy, ("Cluster", "Local"))
    internal = spec.get("internalTrafficPolicy")
    if internal is None and kind in ("NodePort", "LoadBalancer", "ClusterIP"):
        errors.required("spec.internalTrafficPolicy")
    elif internal is not None and internal not in ("Cluster", "Local"):
        errors.not_supported("spec.internalTrafficPolicy", internal, ("Cluster", "Local"))
    # validateServiceTrafficDistribution (v1.30-1.32): PreferClose is the one value.
    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution != "PreferClose":
        errors.not_supported("spec.trafficDistribution", distribution, ("PreferClose",))
    old_ips = ((old or {}).get("spec") or {}).get("clusterIPs") or []
    if old_ips and ips and old_ips[0] != ips[0] and kind != "ExternalName":
        errors.invalid("spec.clusterIPs[0]", go_strings(ips), "may not change once set")


def _address(errors: FieldErrors, address: str, at: str, family: str) -> None:
    if family == "FQDN":
        name = address.removesuffix(".")
        problems = formats.is_dns1123_subdomain(name)
        if not address:
            errors.required(at)
        elif problems:
            errors.invalid(at, name, ",".join(problems))
        elif "." not in name:
            errors.invalid(at, name, "should be a domain with at least two segments separated by dots")
        return
    ip = formats.parse_ip(address)
    if family in ("IPv4", "IPv6") and (ip is None or ip.version != int(family[-1])):
        errors.invalid(at, address, f"must be a valid {family} address")
    if family in ("IPv4", "IPv6"):
        errors.all_invalid(at, address, formats.special_ip(address, loopback_ok=LOOPBACK_IS_POD_NETWORK))


def endpoint_slice(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    family = obj.get("addressType") or ""
    for i, endpoint in enumerate(_dicts(obj.get("endpoints"))):
        at, addresses = f"endpoints[{i}]", endpoint.get("addresses") or []
        if not addresses:
            errors.required(f"{at}.addresses", "must contain at least 1 address")
        elif len(addresses) > 100:
            errors.too_many(f"{at}.addresses", len(addresses), 100)
        for j, address in enumerate(addresses):
            _address(errors, str(address), f"{at}.addresses[{j}]", family)
        if endpoint.get("nodeName") is not None:
            node = str(endpoint["nodeName"])
            errors.all_invalid(f"{at}.nodeName", node, formats.is_dns1123_subdomain(node))
        if endpoint.get("hostname") is not None:
            host = str(endpoint["hostname"])
            errors.all_invalid(f"{at}.hostname", host, formats.is_dns1123_label(host))
    names: set[str] = set()
    for i, port in enumerate(_dicts(obj.get("ports"))):
        at, name = f"ports[{i}]", port.get("name") or ""
        if name:
            errors.all_invalid(f"{at}.name", name, formats.is_dns1123_label(name))
        if name in names:
            errors.duplicate(f"{at}.name", name)
        names.add(name)
        if not port.get("protocol"):
            errors.required(f"{at}.protocol")
        elif port["protocol"] not in PROTOCOLS:
            errors.not_supported(f"{at}.protocol", port["protocol"], PROTOCOLS)
        if port.get("appProtocol") is not None:
            errors.all_invalid(
                f"{at}.appProtocol", port["appProtocol"], formats.is_qualified_name(str(port["appProtocol"]))
            )
    if old is not None:
        if family != (old.get("addressType") or ""):
            errors.invalid("addressType", family, "field is immutable")
    elif not family:
        errors.required("addressType")
    elif family not in ("FQDN", "IPv4", "IPv6"):
        errors.not_supported("addressType", family, ("FQDN", "IPv4", "IPv6"))


def endpoints(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    for i, subset in enumerate(_dicts(obj.get("subsets"))):
        at = f"subsets[{i}]"
        for kind in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(_dicts(subset.get(kind))):
                ip = str(address.get("ip") or "")
                errors.all_invalid(f"{at}.{kind}[{j}].ip", ip, formats.is_ip(ip))
                errors.all_invalid(
                    f"{at}.{kind}[{j}].ip", ip, formats.special_ip(ip, loopback_ok=LOOPBACK_IS_POD_NETWORK)
                )
        for j, port in enumerate(_dicts(subset.get("ports"))):
            number = _int(port.get("port"))
            errors.all_invalid(f"{at}.ports[{j}].port", number, formats.is_port_number(number))
            if port.get("protocol") not in PROTOCOLS:
                errors.not_supported(f"{at}.ports[{j}].protocol", port.get("protocol") or "", PROTOCOLS)
