// The Service's settings that decide where a call goes (docs/protocol.md, `settings`), the
// consumer's own node and zone, and the endpoints by node with their zones and hints. Pure
// helpers first, then the panel (createElement/textContent only, redrawn when its text changes).

// The zone of the consumer's node, as the slices say it: the zone of an endpoint on that node.
export function consumerPlace(state) {
  const node = (state.pod && state.pod.node) || "";
  const here = node ? state.endpoints.find((endpoint) => endpoint.node === node && endpoint.zone) : null;
  return { node, zone: here ? here.zone : "" };
}

// [label, value] pairs, in the order the page lists them.
export function describeSettings(settings, place, t) {
  const notSet = t.gettext("not set");
  const unknown = t.gettext("unknown");
  if (!settings || !settings.present) return [[t.gettext("Service"), t.gettext("not read yet (or absent)")]];
  const ports = settings.ports.map((port) => `${port.name || "-"} ${port.port}→${port.target_port}/${port.protocol}`).join(", ");
  const affinity = settings.session_affinity === "ClientIP"
    ? t.interpolate(t.gettext("ClientIP, for %(seconds)s s"), { seconds: settings.affinity_timeout_seconds }, true)
    : settings.session_affinity;
  return [
    [t.gettext("type"), settings.type],
    [t.gettext("ports"), ports || notSet],
    ["sessionAffinity", affinity],
    ["internalTrafficPolicy", settings.internal_traffic_policy],
    ["trafficDistribution", settings.traffic_distribution || notSet],
    [t.gettext("this dashboard's node"), place.node || unknown],
    [t.gettext("this dashboard's zone"), place.zone || unknown],
  ];
}

// One row per node: its zone(s), its ready and total endpoints, the zones its endpoints are
// hinted for, and (while there are few) the pods' names. Sorted by node name.
export function nodesOf(endpoints, namesUpTo = 24) {
  const byNode = new Map();
  for (const endpoint of endpoints) {
    const node = endpoint.node || "";
    let row = byNode.get(node);
    if (!row) byNode.set(node, (row = { node, zones: new Set(), hints: new Set(), ready: 0, total: 0, pods: [] }));
    if (endpoint.zone) row.zones.add(endpoint.zone);
    for (const zone of endpoint.hints || []) row.hints.add(zone);
    row.total += 1;
    if (endpoint.ready && !endpoint.terminating) row.ready += 1;
    row.pods.push(endpoint.name);
  }
  const few = endpoints.length <= namesUpTo;
  return [...byNode.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)).map((row) => ({
    node: row.node, zones: [...row.zones].sort(), hints: [...row.hints].sort(),
    ready: row.ready, total: row.total, pods: few ? row.pods.sort() : [],
  }));
}

export function createSettingsPanel(root, t) {
  const list = root.querySelector("#settings-list");
  const nodes = root.querySelector("#settings-nodes tbody");
  let shown = "";
  let readFrom = null; // [settings, endpoints, pod] last drawn: redraw only when one is replaced

  function cell(tag, text) {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  return {
    update(state) {
      if (readFrom && readFrom[0] === state.settings && readFrom[1] === state.endpoints && readFrom[2] === state.pod) return;
      readFrom = [state.settings, state.endpoints, state.pod];
      const place = consumerPlace(state);
      const pairs = describeSettings(state.settings, place, t);
      const rows = nodesOf(state.endpoints);
      const signature = JSON.stringify([pairs, rows, place.node]);
      if (signature === shown) return;
      shown = signature;
      list.replaceChildren(...pairs.flatMap(([label, value]) => [cell("dt", label), cell("dd", String(value))]));
      nodes.replaceChildren(...rows.map((row) => {
        const tr = document.createElement("tr");
        tr.dataset.node = row.node;
        if (row.node && row.node === place.node) tr.classList.add("own-node");
        const name = row.node || t.gettext("(no node)");
        tr.append(
          cell("td", row.node === place.node ? t.interpolate(t.gettext("%(node)s (this dashboard)"), { node: name }, true) : name),
          cell("td", row.zones.join(", ") || t.gettext("unknown")),
          cell("td", `${row.ready}/${row.total}`),
          cell("td", row.hints.join(", ") || "–"),
          cell("td", row.pods.join(", ")),
        );
        return tr;
      }));
    },
  };
}
