"""Label and field selectors, parsed as the API server parses them, refusals word for word.

Labels: ``sandbox.label_selectors`` (apimachinery's ``labels.Parse``). Fields: ``fields.
ParseSelector`` (terms split on unescaped commas and sorted, ``=``, ``==`` or ``!=``, values
unescaped), then the kind's field label conversion: ``metadata.name`` and ``metadata.namespace``
for every kind, more for pods, events, secrets, namespaces and ReplicaSets, whose conversions
refuse the rest as "field label not supported: X" where the others say "X" is not a known field
selector. A term then matches the object's selectable fields (a missing one is ""). A selector
that does not parse is a 400, never a match-everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sandbox import label_selectors

Matcher = Callable[[Mapping[str, str]], bool]


class SelectorError(ValueError):
    pass


def parse_label_selector(text: str | None) -> Matcher:
    try:
        return label_selectors.parse(text)
    except label_selectors.LabelSelectorError as exc:
        raise SelectorError(str(exc)) from None


def _split_terms(text: str) -> list[str]:
    """fields.splitTerms: split on commas not escaped by a backslash."""
    terms, start, escaped = [], 0, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """fields.splitTerm: the first ``!=``, ``==`` or ``=`` (no spaces are trimmed)."""
    for index in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator) :]
    return None


def _unescape(value: str) -> str:
    r"""fields.UnescapeValue: ``\\``, ``\,`` and ``\=`` are escapes; a bare ``,`` or ``=`` is not
    allowed (Go prints the rune as its number)."""
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(char)}")
        else:
            out.append(char)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


FIELDS = ("metadata.name", "metadata.namespace")


def _text(value: object) -> str:
    """A field's value as the API server's fields.Set holds it: "" for a missing one,
    ``true``/``false`` for a bool."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pod_fields(pod: dict) -> dict[str, str]:
    """pkg/registry/core/pod ToSelectableFields."""
    spec, state = pod.get("spec") or {}, pod.get("status") or {}
    return {
        "spec.nodeName": _text(spec.get("nodeName")),
        "spec.restartPolicy": _text(spec.get("restartPolicy")),
        "spec.schedulerName": _text(spec.get("schedulerName")),
        "spec.serviceAccountName": _text(spec.get("serviceAccountName")),
        "spec.hostNetwork": _text(bool(spec.get("hostNetwork"))),
        "status.phase": _text(state.get("phase")),
        # the first of podIPs (v1 conversion makes podIPs from a lone podIP)
        "status.podIP": _text(((state.get("podIPs") or [{}])[0] or {}).get("ip") or state.get("podIP")),
        "status.nominatedNodeName": _text(state.get("nominatedNodeName")),
    }


def _event_fields(event: dict) -> dict[str, str]:
    """pkg/registry/core/event ToSelectableFields: the involved object, the reason, the source
    (its component, else the reporting controller), the reporting controller and the type."""
    involved, source = event.get("involvedObject") or {}, event.get("source") or {}
    fields = {f"involvedObject.{name}": _text(involved.get(name)) for name in _INVOLVED}
    fields.update(
        reason=_text(event.get("reason")),
        reportingComponent=_text(event.get("reportingComponent")),
        source=_text(source.get("component") or event.get("reportingComponent")),
        type=_text(event.get("type")),
    )
    return fields


_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_POD_LABELS = (
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",  # accepted, but not a selectable field: it matches as ""
    "status.nominatedNodeName",
    "spec.host",  # what old clients sent for spec.nodeName
)
# The kinds with field label conversions (pkg/apis/core/v1/conversion.go): their own fields, and
# the API server's "field label not supported" for others. Every other kind knows only the two
# metadata fields and words the refusal differently.
_KIND_FIELDS: dict[str, Callable[[dict], dict[str, str]]] = {
    "Pod": _pod_fields,
    "Event": _event_fields,
    "Secret": lambda secret: {"type": _text(secret.get("type"))},
    "Namespace": lambda namespace: {"status.phase": _text((namespace.get("status") or {}).get("phase"))},
}
_KIND_FIELDS["ReplicaSet"] = lambda rs: {
    "status.replicas": _text((rs.get("status") or {}).get("replicas", 0))
}
# kind: (the field labels its conversion accepts, the ones it renames)
_CONVERSIONS: dict[str, tuple[frozenset[str], dict[str, str]]] = {
    "Pod": (frozenset(_POD_LABELS), {"spec.host": "spec.nodeName"}),
    "Event": (frozenset({*FIELDS, *(f"involvedObject.{n}" for n in _INVOLVED), *_event_fields({})}), {}),
    "Secret": (frozenset({*FIELDS, "type"}), {}),
    "Namespace": (frozenset({"metadata.name", "status.phase"}), {}),
    "ReplicaSet": (frozenset({*FIELDS, "status.replicas"}), {}),
}


def fields_of(kind: str, obj: dict) -> dict[str, str]:
    """The selectable fields of ``obj`` (a ``kind``) and their values."""
    metadata = obj.get("metadata") or {}
    fields = {
        "metadata.name": _text(metadata.get("name")),
        "metadata.namespace": _text(metadata.get("namespace")),
    }
    if kind in _KIND_FIELDS:
        fields.update(_KIND_FIELDS[kind](obj))
    return fields


def _convert(kind: str, field: str) -> str:
    """The kind's field label conversion: the field it selects on, or the API server's refusal."""
    if kind not in _CONVERSIONS:
        if field in FIELDS:
            return field
        raise SelectorError(
            f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )
    accepted, renamed = _CONVERSIONS[kind]
    if field not in accepted:
        raise SelectorError(f"field label not supported: {field}")
    return renamed.get(field, field)


def parse_field_selector(text: str | None, kind: str = "") -> Matcher:
    """A matcher over ``fields_of(kind, obj)``, or ``SelectorError`` worded as the API server."""
    checks = []
    for part in sorted(_split_terms(text or "")) if text else []:
        if not part:
            continue
        term = _split_term(part)
        if term is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, operator, value = term
        checks.append((field, operator != "!=", _unescape(value)))
    converted = [(_convert(kind, field), wanted, value) for field, wanted, value in checks]
    return lambda fields: all(
        (fields.get(field, "") == value) is wanted for field, wanted, value in converted
    )


def label_selector_matches(selector: Mapping | None, labels: Mapping[str, str] | None) -> bool:
    """A ``LabelSelector`` object (``matchLabels`` and ``matchExpressions`` with In, NotIn,
    Exists, DoesNotExist), as metav1.LabelSelectorAsSelector reads it. An empty selector matches
    everything; a missing one (None) nothing, as for a ReplicaSet's."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
