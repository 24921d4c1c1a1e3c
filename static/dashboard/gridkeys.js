// Where an arrow key goes in the compact view (pure): `order` is every cell in display order,
// each with its `node`; a node's cells wrap in rows of `cols`.

// Arrow keys move within the rows of a node's cells and across nodes; Home and End jump.
export function neighbour(order, entry, key, cols) {
  const index = order.indexOf(entry);
  const members = order.filter((other) => other.node === entry.node);
  const position = members.indexOf(entry);
  if (key === "ArrowRight") return order[Math.min(order.length - 1, index + 1)];
  if (key === "ArrowLeft") return order[Math.max(0, index - 1)];
  if (key === "Home") return order[0];
  if (key === "End") return order[order.length - 1];
  const column = position % cols;
  if (key === "ArrowDown") {
    if (position + cols < members.length) return members[position + cols];
    if (Math.floor(position / cols) < Math.floor((members.length - 1) / cols)) return members[members.length - 1];
    const after = order[index + (members.length - position)];
    if (!after) return entry;
    const next = order.filter((other) => other.node === after.node);
    return next[Math.min(column, next.length - 1)];
  }
  if (key === "ArrowUp") {
    if (position - cols >= 0) return members[position - cols];
    const before = order[index - position - 1];
    if (!before) return entry;
    const previous = order.filter((other) => other.node === before.node);
    const lastRow = Math.floor((previous.length - 1) / cols) * cols;
    return previous[Math.min(lastRow + column, previous.length - 1)];
  }
  return null;
}
