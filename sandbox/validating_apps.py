"""Validation of Deployments and ReplicaSets, as ``pkg/apis/apps/validation`` (v1.29) does it.

``deployment(errors, obj, old)`` and ``replica_set(errors, obj, old)`` append to ``errors``, in
the real server's order: replicas; the selector (required, valid, not empty, and matching the
template's labels: "`selector` does not match template `labels`"); the pod template
(``sandbox.validating_pods``) with ``restartPolicy: Always`` only; the rolling-update strategy
(``maxSurge``/``maxUnavailable`` non-negative or percentages, not both 0, at most 100%
unavailable); ``minReadySeconds``, ``revisionHistoryLimit``, ``progressDeadlineSeconds``; and on
update an immutable ``spec.selector`` ("field is immutable", as the apps/v1 strategies add it).
Invalid values print as Go's ``%#v`` (``v1.LabelSelector{...}``, ``intstr.IntOrString{...}``).
"""

from __future__ import annotations

from sandbox import name_formats as formats
from sandbox.field_errors import FieldErrors, GoValue, go_int_or_string, go_map, go_quote, go_strings
from sandbox.validating_meta import _dicts, _int, labels, nonnegative
from sandbox.validating_pods import pod_template

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def go_selector(selector: object) -> GoValue:
    """``v1.LabelSelector{MatchLabels:..., MatchExpressions:...}`` as Go's ``%#v`` prints it."""
    selector = selector if isinstance(selector, dict) else {}
    parts = []
    for item in _dicts(selector.get("matchExpressions")):
        key, op = go_quote(str(item.get("key", ""))), go_quote(str(item.get("operator", "")))
        values = go_strings(item.get("values"))
        parts.append(f"v1.LabelSelectorRequirement{{Key:{key}, Operator:{op}, Values:{values}}}")
    expressions = "[]v1.LabelSelectorRequirement(nil)"
    if isinstance(selector.get("matchExpressions"), list):
        expressions = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    match_labels = go_map(selector.get("matchLabels"))
    return GoValue(f"v1.LabelSelector{{MatchLabels:{match_labels}, MatchExpressions:{expressions}}}")


def _selector_ok(selector: dict) -> bool:
    """Whether ``LabelSelectorAsSelector`` takes it (operators, values, keys and values)."""
    for item in _dicts(selector.get("matchExpressions")):
        op, values = item.get("operator"), item.get("values") or []
        if op not in OPERATORS or (op in ("In", "NotIn")) != bool(values):
            return False
        if formats.is_qualified_name(str(item.get("key", ""))) or any(
            formats.is_label_value(str(v)) for v in values
        ):
            return False
    return all(not formats.is_qualified_name(str(k)) for k in (selector.get("matchLabels") or {}))


def matches(selector: dict, labels_: dict) -> bool:
    if any(labels_.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for item in _dicts(selector.get("matchExpressions")):
        key, values, op = item.get("key"), item.get("values") or [], item.get("operator")
        present = key in labels_
        if (op == "In" and labels_.get(key) not in values) or (
            op == "NotIn" and present and labels_[key] in values
        ):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _workload_selector(errors: FieldErrors, spec: dict) -> None:
    """Selector and template of a Deployment or ReplicaSet (``ValidatePodTemplateSpecForReplicaSet``)."""
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        errors.required("spec.selector")
    else:
        labels(errors, selector.get("matchLabels"), "spec.selector.matchLabels")
        for i, item in enumerate(_dicts(selector.get("matchExpressions"))):
            at, op = f"spec.selector.matchExpressions[{i}]", item.get("operator")
            if op in ("In", "NotIn") and not item.get("values"):
                errors.required(f"{at}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            elif op in ("Exists", "DoesNotExist") and item.get("values"):
                errors.forbidden(
                    f"{at}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            elif op not in OPERATORS:
                errors.invalid(f"{at}.operator", op, "not a valid selector operator")
            errors.all_invalid(
                f"{at}.key", item.get("key", ""), formats.is_qualified_name(str(item.get("key", "")))
            )
            for j, value in enumerate(item.get("values") or []):
                errors.all_invalid(f"{at}.values[{j}]", value, formats.is_label_value(str(value)))
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            errors.invalid("spec.selector", go_selector(selector), "empty selector is invalid for deployment")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    if isinstance(selector, dict) and not _selector_ok(selector):
        errors.invalid("spec.selector", go_selector(selector), "invalid label selector")
        return
    template_labels = (template.get("metadata") or {}).get("labels")
    empty = (
        isinstance(selector, dict)
        and not selector.get("matchLabels")
        and not selector.get("matchExpressions")
    )
    if not empty and not (isinstance(selector, dict) and matches(selector, template_labels or {})):
        errors.invalid(
            "spec.template.metadata.labels",
            go_map(template_labels),
            "`selector` does not match template `labels`",
        )
    pod_template(errors, template, "spec.template")
    restart = (template.get("spec") or {}).get("restartPolicy")
    if restart != "Always":
        errors.not_supported("spec.template.spec.restartPolicy", restart or "", ("Always",))


def _immutable_selector(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    if old is not None and (obj.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", go_selector(obj["spec"].get("selector")), "field is immutable")


def _percent(value: object) -> int | None:
    if isinstance(value, str) and not formats.is_percent(value):
        return int(value[:-1])
    return None


def deployment(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    nonnegative(errors, spec.get("replicas", 0), "spec.replicas")
    _workload_selector(errors, spec)
    strategy = spec.get("strategy") if isinstance(spec.get("strategy"), dict) else {}
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "Recreate":
        if rolling is not None:
            detail = "may not be specified when strategy `type` is 'Recreate'"
            errors.forbidden("spec.strategy.rollingUpdate", detail)
    elif strategy.get("type") == "RollingUpdate" and isinstance(rolling, dict):
        values = {}
        for name in ("maxUnavailable", "maxSurge"):
            value, at = rolling.get(name), f"spec.strategy.rollingUpdate.{name}"
            if isinstance(value, str):
                errors.all_invalid(at, go_int_or_string(value), formats.is_percent(value))
            else:
                nonnegative(errors, value, at)
            percent = _percent(value)
            values[name] = (
                percent if percent is not None else (_int(value) if not isinstance(value, str) else 0)
            )
        if values["maxUnavailable"] == 0 and values["maxSurge"] == 0:
            unavailable = go_int_or_string(rolling.get("maxUnavailable"))
            errors.invalid(
                "spec.strategy.rollingUpdate.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0"
            )
        if (_percent(rolling.get("maxUnavailable")) or 0) > 100:
            value = go_int_or_string(rolling.get("maxUnavailable"))
            errors.invalid(
                "spec.strategy.rollingUpdate.maxUnavailable", value, "must not be greater than 100%"
            )
    elif strategy.get("type") != "RollingUpdate":
        pointer = "(nil)" if rolling is None else "(0xc000000000)"  # Go prints the pointer's address
        kind = go_quote(str(strategy.get("type") or ""))
        shown = (
            f"apps.DeploymentStrategy{{Type:{kind}, RollingUpdate:(*apps.RollingUpdateDeployment){pointer}}}"
        )
        errors.not_supported("spec.strategy", GoValue(shown), ("Recreate", "RollingUpdate"))
    nonnegative(errors, spec.get("minReadySeconds", 0), "spec.minReadySeconds")
    if spec.get("revisionHistoryLimit") is not None:
        nonnegative(errors, spec["revisionHistoryLimit"], "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        nonnegative(errors, deadline, "spec.progressDeadlineSeconds")
        if _int(deadline) <= _int(spec.get("minReadySeconds", 0)):
            errors.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")
    _immutable_selector(errors, obj, old)


def replica_set(errors: FieldErrors, obj: dict, old: dict | None) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    nonnegative(errors, spec.get("replicas", 0), "spec.replicas")
    nonnegative(errors, spec.get("minReadySeconds", 0), "spec.minReadySeconds")
    _workload_selector(errors, spec)
    _immutable_selector(errors, obj, old)
