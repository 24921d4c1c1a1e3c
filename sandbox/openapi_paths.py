"""The ``paths`` of the sandbox's OpenAPI documents: an operation per served verb.

The layout, operation ids, actions and parameters are those of the real API server (the
endpoints installer of ``k8s.io/apiserver``, ``pkg/endpoints/installer.go``), for example for a
namespaced kind in group version ``apps/v1``::

    /apis/apps/v1/namespaces/{namespace}/deployments         list, create, deletecollection
    /apis/apps/v1/namespaces/{namespace}/deployments/{name}  read, replace, patch, delete
    /apis/apps/v1/deployments                                list for all namespaces
    /apis/apps/v1/watch/...                                  the three watch paths
    /apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale   (each served subresource)

``paths(gv_path, v3=..., subresources=...)`` returns them for one group version in OpenAPI 3
form (``requestBody``, ``content``) or Swagger 2 form (``consumes``/``produces``, body parameters).
Parameter descriptions are the first sentence of the real ones.
"""

from __future__ import annotations

from sandbox import resources, schemas
from sandbox.resources import Resource

V3_REF = "#/components/schemas/"
V2_REF = "#/definitions/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OUT = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
STREAM = (*OUT, "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
PATCHES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
_QUERY = {  # name: (type, the first words of the real server's description)
    "allowWatchBookmarks": ("boolean", 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
    "continue": ("string", "The continue option should be set when retrieving more results from the server."),
    "dryRun": ("string", "When present, indicates that modifications should not be persisted."),
    "fieldManager": ("string", "fieldManager is a name associated with the actor making these changes."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their fields."),
    "fieldValidation": ("string", "How to handle unknown or duplicate fields: Ignore, Warn or Strict."),
    "force": ("boolean", 'Force is going to "force" Apply requests.'),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be deleted."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their labels."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call."),
    "orphanDependents": ("boolean", "Deprecated: please use the PropagationPolicy."),
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed."),
    "resourceVersion": ("string", "A constraint on what resource versions a request may be served from."),
    "resourceVersionMatch": ("string", "How resourceVersion is applied to list calls."),
    "sendInitialEvents": ("boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "watch": ("boolean", "Watch for changes to the described resources."),
    "container": ("string", "The container for which to stream logs."),
    "follow": ("boolean", "Follow the log stream of the pod. Defaults to false."),
    "limitBytes": ("integer", "If set, the number of bytes to read from the server."),
    "previous": ("boolean", "Return previous terminated container logs. Defaults to false."),
    "sinceSeconds": (
        "integer",
        "A relative time in seconds before the current time from which to show logs.",
    ),
    "tailLines": ("integer", "If set, the number of lines from the end of the logs to show."),
    "timestamps": ("boolean", "If true, add an RFC3339 timestamp at the beginning of every line."),
    "command": ("string", "Command is the remote command to execute. argv array."),
    "stdin": ("boolean", "Redirect the standard input stream of the pod for this call."),
    "stdout": ("boolean", "Redirect the standard output stream of the pod for this call."),
    "stderr": ("boolean", "Redirect the standard error stream of the pod for this call."),
    "tty": ("boolean", "TTY if true indicates that a tty will be allocated for the exec call."),
    "ports": ("integer", "List of ports to forward."),
}
LIST = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
WRITE = ("dryRun", "fieldManager", "fieldValidation")
DELETE = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
DELETE_COLLECTION = tuple(sorted({*LIST, *DELETE} - {"watch", "allowWatchBookmarks"}))
LOG = ("container", "follow", "limitBytes", "previous", "sinceSeconds", "tailLines", "timestamps")
EXEC = ("command", "container", "stderr", "stdin", "stdout", "tty")
CONNECT = {"exec": "PodExecOptions", "attach": "PodAttachOptions", "portforward": "PodPortForwardOptions"}


def _parameter(name: str, v3: bool, where: str = "query", description: str = "") -> dict:
    kind, text = _QUERY.get(name, ("string", ""))
    found = {"name": name, "in": where, "description": description or text}
    if where == "path":
        found["required"] = True
    return found | (
        {"schema": {"type": kind, "uniqueItems": True}} if v3 else {"type": kind, "uniqueItems": True}
    )


def _prefix(group: str, version: str) -> tuple[str, str]:
    """Operation id and tag stems: ("CoreV1", "core_v1"), ("RbacAuthorizationV1", "rbacAuthorization_v1")."""
    parts = (group.removesuffix(".k8s.io") or "core").split(".")
    camel = parts[0] + "".join(part.title() for part in parts[1:])
    return camel[0].upper() + camel[1:] + version.title(), f"{camel}_{version}"


class _Builder:
    def __init__(self, v3: bool, tag: str) -> None:
        self.v3, self.tag, self.ref = v3, tag, V3_REF if v3 else V2_REF

    def responses(self, schema: dict, codes: tuple[str, ...], media: tuple[str, ...]) -> dict:
        names = {"200": "OK", "201": "Created", "202": "Accepted"}
        found: dict = {}
        for code in codes:
            if self.v3:
                found[code] = {
                    "description": names[code],
                    "content": {m: {"schema": schema} for m in sorted(media)},
                }
            else:
                found[code] = {"description": names[code], "schema": schema}
        found["401"] = {"description": "Unauthorized"}
        return found

    def operation(self, action: str | None, op_id: str, text: str, gvk: dict | None, **spec) -> dict:
        """spec: query=(names), body=definition or None, body_media=(types), out=definition|schema,
        codes=(codes), media=(response types)."""
        out = spec.get("out")
        schema = out if isinstance(out, dict) else {"$ref": self.ref + out}
        media = spec.get("media", OUT)
        params = [_parameter(name, self.v3) for name in spec.get("query", ())]
        op: dict = {"tags": [self.tag], "description": text, "operationId": op_id}
        body = spec.get("body")
        if body and self.v3:
            body_media = spec.get("body_media", ("*/*",))
            op["requestBody"] = {
                "content": {m: {"schema": {"$ref": self.ref + body}} for m in sorted(body_media)}
            }
        elif body:
            params.insert(
                0, {"name": "body", "in": "body", "required": True, "schema": {"$ref": self.ref + body}}
            )
            op["consumes"] = list(spec.get("body_media", ("*/*",)))
        if params:
            op["parameters"] = params
        if not self.v3:
            op |= {"produces": list(media), "schemes": ["https"]}
        op["responses"] = self.responses(schema, spec.get("codes", ("200",)), media)
        if action:
            op["x-kubernetes-action"] = action
        if gvk is not None:
            op["x-kubernetes-group-version-kind"] = gvk
        return op


# verb: (slot, method, action, operation id, description, spec); "{P}" is the group version stem
# ("AppsV1"), "{S}" the scope ("Namespaced" or ""), "{K}" the kind; in spec, "kind" and "list"
# stand for the kind's definition and its list's.
DELETE_OPTIONS, STATUS, PATCH = META + "DeleteOptions", META + "Status", META + "Patch"
# fmt: off
VERBS = {
    "list": ("", "get", "list", "list{P}{S}{K}", "list or watch objects of kind {K}",
             {"query": LIST, "out": "list", "media": STREAM}),
    "create": ("", "post", "post", "create{P}{S}{K}", "create a {K}",
               {"query": WRITE, "body": "kind", "out": "kind", "codes": ("200", "201", "202")}),
    "deletecollection": ("", "delete", "deletecollection", "delete{P}Collection{S}{K}",
                         "delete collection of {K}",
                         {"query": DELETE_COLLECTION, "body": DELETE_OPTIONS, "out": STATUS}),
    "get": ("/{name}", "get", "get", "read{P}{S}{K}", "read the specified {K}", {"out": "kind"}),
    "update": ("/{name}", "put", "put", "replace{P}{S}{K}", "replace the specified {K}",
               {"query": WRITE, "body": "kind", "out": "kind", "codes": ("200", "201")}),
    "delete": ("/{name}", "delete", "delete", "delete{P}{S}{K}", "delete a {K}",
               {"query": DELETE, "body": DELETE_OPTIONS, "out": STATUS, "codes": ("200", "202")}),
    "patch": ("/{name}", "patch", "patch", "patch{P}{S}{K}", "partially update the specified {K}",
              {"query": (*WRITE, "force"), "body": PATCH, "body_media": PATCHES, "out": "kind",
               "codes": ("200", "201")}),
}
# fmt: on
WATCHES = {  # path prefix, suffix: action, operation id, description
    ("watch/", ""): ("watchlist", "watch{P}{S}{K}List", "watch changes to a list of {K}"),
    ("watch/", "/{name}"): ("watch", "watch{P}{S}{K}", "watch changes to an object of kind {K}"),
}


def _resolved(spec: dict, kind_def: str) -> dict:
    names = {"kind": kind_def, "list": kind_def + "List"}
    return {key: names.get(value, value) if isinstance(value, str) else value for key, value in spec.items()}


def _kind_ops(b: _Builder, r: Resource, kind_def: str, stem: str) -> dict[str, dict]:
    """The operations of one resource, by path suffix relative to the group version path."""
    gvk = {"group": r.group, "version": r.version, "kind": r.kind}
    fill = {"P": stem, "S": "Namespaced" if r.namespaced else "", "K": r.kind}
    base = f"namespaces/{{namespace}}/{r.plural}" if r.namespaced else r.plural
    scope = ["namespace"] if r.namespaced else []
    found: dict[str, dict] = {base: {"parameters": [*scope, "pretty"]}}
    found[base + "/{name}"] = {"parameters": ["name", *scope, "pretty"]}
    for verb, (slot, method, action, op_id, text, spec) in VERBS.items():
        if verb in r.verbs:
            op = b.operation(
                action, op_id.format(**fill), text.format(**fill), gvk, **_resolved(spec, kind_def)
            )
            found[base + slot][method] = op
    watch = {"out": META + "WatchEvent", "media": STREAM}
    if "watch" in r.verbs:
        for (prefix, slot), (action, op_id, text) in WATCHES.items():
            op = b.operation(action, op_id.format(**fill), text.format(**fill), gvk, **watch)
            params = [*LIST, *(["name"] if slot else []), *scope, "pretty"]
            found[prefix + base + slot] = {"get": op, "parameters": params}
    if r.namespaced and "list" in r.verbs:
        every = {"out": kind_def + "List", "media": STREAM}
        text = f"list or watch objects of kind {r.kind}"
        op = b.operation("list", f"list{stem}{r.kind}ForAllNamespaces", text, gvk, **every)
        found[r.plural] = {"get": op, "parameters": [*LIST, "pretty"]}
        if "watch" in r.verbs:
            text = f"watch individual changes to a list of {r.kind}"
            op = b.operation("watchlist", f"watch{stem}{r.kind}ListForAllNamespaces", text, gvk, **every)
            found["watch/" + r.plural] = {"get": op, "parameters": [*LIST, "pretty"]}
    return {path: item for path, item in found.items() if len(item) > 1}


def _subresource_ops(b: _Builder, r: Resource, kind_def: str, stem: str, sub: str) -> dict | None:
    gvk = {"group": r.group, "version": r.version, "kind": r.kind}
    name = f"{stem}Namespaced{r.kind}{sub.title()}"
    if sub in ("scale", "status"):
        out = "io.k8s.api.autoscaling.v1.Scale" if sub == "scale" else kind_def
        if sub == "scale":
            gvk = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
        fill = {"P": stem, "S": "Namespaced", "K": r.kind + sub.title()}
        ops = {}
        for verb in ("get", "update", "patch"):
            _, method, action, op_id, text, spec = VERBS[verb]
            text = text.format(K=r.kind).replace("the specified", f"{sub} of the specified")
            ops[method] = b.operation(action, op_id.format(**fill), text, gvk, **_resolved(spec, out))
        return ops
    if sub == "log":
        text = f"read log of the specified {r.kind}"
        media = (*OUT, "text/plain")
        return {
            "get": b.operation(
                "get", "read" + name, text, gvk, query=LOG, out={"type": "string"}, media=media
            )
        }
    if sub in CONNECT:
        options = {"group": "", "version": "v1", "kind": CONNECT[sub]}
        query = ("ports",) if sub == "portforward" else EXEC
        found = {}
        for method in ("get", "post"):
            op_id = f"connect{stem}{method.title()}Namespaced{r.kind}{sub.title()}"
            text = f"connect {method.upper()} requests to {sub} of {r.kind}"
            found[method] = b.operation(
                "connect", op_id, text, options, query=query, out={"type": "string"}, media=("*/*",)
            )
        return found
    return None


def paths(
    gv_path: str, *, v3: bool, subresources: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, dict]:
    """The paths of group version ``gv_path`` (``api/v1``, ``apis/apps/v1``...), sorted."""
    parts = gv_path.split("/")
    group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
    stem, tag = _prefix(group, version)
    builder = _Builder(v3, tag)
    kinds = schemas.shapes()["kinds"]
    root = "/" + gv_path
    resource_list = {"out": META + "APIResourceList"}
    listing = builder.operation(
        None, f"get{stem}APIResources", "get available resources", None, **resource_list
    )
    found = {root + "/": {"get": listing}}
    for r in resources.in_group_version(group, version):
        kind_def = kinds[f"{group}/{version}/{r.kind}"]
        for suffix, item in _kind_ops(builder, r, kind_def, stem).items():
            found[f"{root}/{suffix}"] = item
        for plural, sub in sorted(subresources):
            ops = _subresource_ops(builder, r, kind_def, stem, sub) if plural == r.plural else None
            if ops:
                params = ["name", "namespace", *(LOG if sub == "log" else ()), "pretty"]
                found[f"{root}/namespaces/{{namespace}}/{r.plural}/{{name}}/{sub}"] = ops | {
                    "parameters": params
                }
    for item in found.values():
        if "parameters" in item:
            item["parameters"] = [_path_parameter(name, v3, item) for name in item["parameters"]]
    return dict(sorted(found.items()))


def _path_parameter(name: str, v3: bool, item: dict) -> dict:
    if name == "namespace":
        return _parameter(name, v3, "path", "object name and auth scope, such as for teams and projects")
    if name == "name":
        kind = next(
            op["x-kubernetes-group-version-kind"]["kind"] for op in item.values() if isinstance(op, dict)
        )
        return _parameter(name, v3, "path", f"name of the {kind}")
    return _parameter(name, v3)
