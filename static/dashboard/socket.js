// The websocket to the dashboard: reconnects with backoff, and asks for a fresh snapshot when a
// broadcast's sequence number shows that a message was lost (docs/protocol.md). A socket the
// server refuses for good (4404: a target that is not configured) is not opened again.

import { withTarget } from "./target.js";

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 8000;
const UNKNOWN_TARGET = 4404;

export function connect({ onMessage, onStatus, url = defaultUrl() }) {
  let socket = null;
  let delay = BACKOFF_START_MS;
  let lastSeq = new Map(); // origin -> last seq seen
  let closedByUs = false;

  function open() {
    onStatus(lastSeq.size ? "reconnecting" : "connecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => { delay = BACKOFF_START_MS; });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "hello") {
        lastSeq = new Map([[message.origin, message.seq]]);
      } else if (message.origin !== undefined) {
        const last = lastSeq.get(message.origin);
        lastSeq.set(message.origin, Math.max(message.seq, last || 0));
        if (last !== undefined && message.seq > last + 1) {
          send({ type: "resync" }); // something was dropped: start again from a snapshot
        }
      }
      onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (closedByUs) return;
      if (event.code === UNKNOWN_TARGET) {
        onStatus("refused");
        return;
      }
      onStatus("reconnecting");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    });
  }

  function send(command) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(command));
      return true;
    }
    return false;
  }

  open();
  return { send, close() { closedByUs = true; socket.close(); } };
}

function defaultUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${withTarget("/ws/dashboard/")}`;
}
