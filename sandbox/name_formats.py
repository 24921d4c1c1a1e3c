"""The format checks of names and values, worded as ``k8s.io/apimachinery/pkg/util/validation``.

Each ``is_*`` function returns the list of messages the real server gives for ``value`` (empty
when it is valid), e.g. ``is_dns1123_label("Web_1")`` ->
``["a lowercase RFC 1123 label must consist of ... (e.g. 'my-name',  or '123-abc', regex used
for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]``. Callers turn them into field errors
(``FieldErrors.all_invalid``). Upstream functions: IsDNS1123Label, IsDNS1123Subdomain,
IsDNS1035Label, IsQualifiedName, IsValidLabelValue, IsValidPortName, IsValidPortNum,
IsEnvVarName, IsConfigMapKey, IsValidPercent, IsValidIP, IsFullyQualifiedDomainName, and
``path.IsValidPathSegmentName`` (RBAC names).
"""

from __future__ import annotations

import ipaddress
import re

LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN_FMT = LABEL_FMT + r"(\." + LABEL_FMT + ")*"
DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_FMT + ")?"
ENV_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
PERCENT_FMT = "[0-9]+%"
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character"
)
QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
ENV_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
    "or '.', and must not start with a digit"
)
CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"
IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """``RegexError``: the message, its examples, and the regex (note Go's double space)."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def _full(fmt: str, value: str) -> bool:
    return re.fullmatch(fmt, value) is not None


def is_dns1123_label(value: str) -> list[str]:
    errors = [max_len(63)] if len(value) > 63 else []
    if not _full(LABEL_FMT, value):
        if _full(SUBDOMAIN_FMT, value):
            errors.append("must not contain dots")  # a valid subdomain: the dots are the problem
        else:
            errors.append(regex_error(LABEL_MSG, LABEL_FMT, "my-name", "123-abc"))
    return errors


def is_dns1123_subdomain(value: str) -> list[str]:
    errors = [max_len(253)] if len(value) > 253 else []
    if not _full(SUBDOMAIN_FMT, value):
        errors.append(regex_error(SUBDOMAIN_MSG, SUBDOMAIN_FMT, "example.com"))
    return errors


def is_dns1035_label(value: str) -> list[str]:
    errors = [max_len(63)] if len(value) > 63 else []
    if not _full(DNS1035_FMT, value):
        errors.append(regex_error(DNS1035_MSG, DNS1035_FMT, "my-name", "abc-123"))
    return errors


def is_qualified_name(value: str) -> list[str]:
    parts = value.split("/")
    errors: list[str] = []
    if len(parts) > 2:
        return [
            "a qualified name "
            + regex_error(QUALIFIED_MSG, QUALIFIED_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + message for message in is_dns1123_subdomain(parts[0])]
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + max_len(63))
    if not _full(QUALIFIED_FMT, name):
        errors.append(
            "name part " + regex_error(QUALIFIED_MSG, QUALIFIED_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def is_label_value(value: str) -> list[str]:
    errors = [max_len(63)] if len(value) > 63 else []
    if not _full(LABEL_VALUE_FMT, value):
        errors.append(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def is_port_name(value: str) -> list[str]:
    """IANA service names: ``http``, ``grpc-web``."""
    errors = [max_len(15)] if len(value) > 15 else []
    if not re.fullmatch("[-a-z0-9]+", value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def is_port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def _not_relative(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    return ["must not start with '..'"] if value.startswith("..") else []


def is_env_var_name(value: str) -> list[str]:
    errors = (
        []
        if _full(ENV_FMT, value)
        else [regex_error(ENV_MSG, ENV_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1")]
    )
    return errors + _not_relative(value)


def is_config_key(value: str) -> list[str]:
    errors = [max_len(253)] if len(value) > 253 else []
    if not _full(CONFIG_KEY_FMT, value):
        errors.append(regex_error(CONFIG_KEY_MSG, CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    return errors + _not_relative(value)


def is_percent(value: str) -> list[str]:
    return [] if _full(PERCENT_FMT, value) else [regex_error(PERCENT_MSG, PERCENT_FMT, "1%", "93%")]


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Go's ``netutils.ParseIPSloppy``: also takes IPv4 octets with leading zeros."""
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
            try:
                return ipaddress.ip_address(".".join(str(int(part)) for part in value.split(".")))
            except ValueError:
                return None
        return None


def is_ip(value: str) -> list[str]:
    return [] if parse_ip(value) is not None else [IP_MSG]


def special_ip(value: str, *, loopback_ok: bool = False) -> list[str]:
    """``ValidateNonSpecialIP``: what an endpoint address may not be."""
    ip = parse_ip(value)
    if ip is None:
        return ["must be a valid IP address"]
    errors = []
    if ip.is_unspecified:
        errors.append(f"may not be unspecified ({value})")
    if ip.is_loopback and not loopback_ok:
        errors.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if ip.is_link_local and not ip.is_multicast:
        errors.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    multicast = ipaddress.ip_network("224.0.0.0/24" if ip.version == 4 else "ff02::/16")
    if ip in multicast:
        errors.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return errors


def is_path_segment_name(value: str) -> list[str]:
    """RBAC names: anything that can be one URL path segment."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]
