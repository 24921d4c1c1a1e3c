"""What must differ between two API servers, masked so that everything else can be compared.

Each mask says why it is there: a value that the sandbox could not make equal to the real API
server's however faithful it were. Anything not masked here is compared as it is.
"""

from __future__ import annotations

import re
from typing import Any

UID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# RFC 3339 (JSON, YAML) and RFC 1123 with a zone (``kubectl describe``).
RFC3339 = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
RFC1123 = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (\w{3}) \d{4} \d\d:\d\d:\d\d [+-]\d{4}")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
SKEW = re.compile(r"^WARNING: version difference between client .* minor version skew of \+/-1\n?", re.M)
DIFF_FILE = re.compile(r"/tmp/(LIVE|MERGED)-\d+")
DIFF_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}")
EVENT_AGE = re.compile(r"^(  (?:Normal|Warning)  \S+  )(\S+(?: \(x\d+ over \S+\))?)(  )")
TOO_OLD = re.compile(r"too old resource version: \d+ \(\d+\)")
TIME_KEYS = {
    "creationTimestamp",
    "deletionTimestamp",
    "lastTransitionTime",
    "lastProbeTime",
    "lastUpdateTime",
    "startTime",
    "startedAt",
    "finishedAt",
    "time",
    "eventTime",
    "firstTimestamp",
    "lastTimestamp",
    "lastHeartbeatTime",
}


class Masker:
    """The masks of one target: its namespace's name and the names it generated.

    ``namespace``: each server has the namespace it can give this scenario (a fresh one on the
    real server, ``default`` in a sandbox that cannot create namespaces), so the name is masked
    where it names the namespace, never where the same word means something else.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._namespace_word = re.compile(rf"(?<![\w.-]){re.escape(namespace)}(?![\w-])")
        self.generated: dict[str, str] = {}

    def generated_name(self, name: str, prefix: str) -> None:
        """A name the server made from ``generateName``: its random suffix is the server's own."""
        self.generated[name] = f"{prefix}<generated>"

    # --- strings ---------------------------------------------------------------------------

    def string(self, text: str, *, in_text: bool = False) -> str:
        # uids: random per object on every server.
        text = UID.sub("<uid>", text)
        # Wall-clock times: when each server happened to write the object.
        text = RFC3339.sub("<time>", text)
        text = RFC1123.sub("<time>", text)
        # IPs: the sandbox's pods and Services live on 127.0.0.0/8 (they share the machine's
        # loopback), a real server allocates ClusterIPs from its own range and refuses loopback
        # endpoint addresses, so no address can be the same on both.
        text = IPV4.sub("<ip>", text)
        # kubectl diff's files: random temporary names, stamped with the time kubectl wrote them.
        text = DIFF_FILE.sub(r"/tmp/\1-<random>", text)
        text = DIFF_TIME.sub("<time>", text)
        # A 410's message names the requested and the oldest kept revision: each server's own.
        text = TOO_OLD.sub("too old resource version: <rv> (<rv>)", text)
        for name, masked in self.generated.items():
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", masked, text)
        if in_text:
            text = self._namespace_word.sub("<ns>", text)
        return text

    def text(self, text: str) -> str:
        """Command output: the masks above, the namespace's name, and runs of spaces made one
        (``kubectl describe`` pads to the widest value, and masked values have other widths)."""
        masked = self.string(text, in_text=True)
        # kubectl's own warning that the server's version is far from its own: the versions
        # differ by design (v1.32 sandbox, v1.29 real server), and so does this line.
        masked = SKEW.sub("", masked)
        lines = [re.sub(r"(?<=\S) {2,}", "  ", line.rstrip()) for line in masked.splitlines()]
        # describe's Events: each row's Age, how long ago (wall-clock) the event was seen.
        return "\n".join(EVENT_AGE.sub(r"\1<age>\3", line) for line in lines)

    # --- JSON ------------------------------------------------------------------------------

    @staticmethod
    def _table_ages(table: dict, masked: dict) -> None:
        """A Table's Age cells: how long ago each server created the object (wall-clock)."""
        names = [column.get("name") for column in table.get("columnDefinitions") or []]
        ages = [index for index, name in enumerate(names) if name in ("Age", "Last Seen")]
        for row in masked["rows"]:
            for index in ages:
                if isinstance(row, dict) and index < len(row.get("cells") or []):
                    row["cells"][index] = "<age>"

    def json(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            masked = {k: self.json(v, k) for k, v in value.items()}
            if value.get("kind") == "Table" and isinstance(value.get("rows"), list):
                self._table_ages(value, masked)
            metadata = masked.get("metadata")
            if isinstance(metadata, dict) and metadata.get("generateName") and "name" in metadata:
                prefix = value["metadata"]["generateName"]
                if value["metadata"]["name"].startswith(prefix):
                    metadata["name"] = f"{prefix}<generated>"
            return masked
        if isinstance(value, list):
            return [self.json(item, key) for item in value]
        if not isinstance(value, str):
            return value
        if key == "uid" and value:
            return "<uid>"  # random per object
        if key == "resourceVersion" and value:
            return "<rv>"  # each server's own etcd revision counter
        if key == "continue" and value:
            return "<continue>"  # an opaque token, encoding that counter
        if key in TIME_KEYS and value:
            return "<time>"  # wall-clock
        if key == "namespace" and value == self.namespace:
            return "<ns>"
        return self.string(value, in_text=key in ("message", "selfLink"))
