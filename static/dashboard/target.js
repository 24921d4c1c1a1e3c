// Which target Service this page shows (docs/protocol.md, "Several target Services"): the page's
// `?target=name.namespace`, carried to the websocket and to the API's lists. The picker lists
// hello's `targets` when there is more than one, and opens the page again for the one picked.

export const target = new URLSearchParams(location.search).get("target");

// `path` with this page's target added to its query (unchanged when the page names none).
export function withTarget(path) {
  if (!target) return path;
  return `${path}${path.includes("?") ? "&" : "?"}target=${encodeURIComponent(target)}`;
}

// This page's address with `params` set, keeping its target: "?target=…&experiment=7".
export function pageQuery(params) {
  const query = new URLSearchParams();
  if (target) query.set("target", target);
  for (const [name, value] of Object.entries(params)) query.set(name, value);
  return `?${query}`;
}

export function createTargetPicker(form) {
  const select = form.querySelector("select");
  let shown = "";
  select.addEventListener("change", () => {
    location.search = `?target=${encodeURIComponent(select.value)}`;
  });
  return {
    update(state) {
      const targets = state.targets || [];
      form.hidden = targets.length < 2;
      const key = targets.map((t) => t.key).join(" ") + "|" + state.target;
      if (key === shown) return;
      shown = key;
      select.replaceChildren(
        ...targets.map((t) => {
          const option = document.createElement("option");
          option.value = t.key;
          option.textContent = `${t.name} (${t.namespace})`;
          option.selected = t.key === state.target;
          return option;
        }),
      );
    },
  };
}
