// A run's first answers in order (statistics.sequence), one square per call coloured by pod, and
// what the order says: random choice or round-robin (statistics.rotation; docs/protocol.md).

import { rotationSaid } from "./verdict.js";

// A pod's colour: its index among the run's pods, spread around the hue circle.
export function colourOf(index, pods) {
  const hue = Math.round((index * 360) / Math.max(pods, 1) + 200) % 360;
  return `hsl(${hue} 65% ${index % 2 ? 38 : 52}%)`;
}

export function createSequence(root, t) {
  const box = root.querySelector("#sequence");
  const strip = root.querySelector("#sequence-strip");
  const said = root.querySelector("#rotation");
  let shownFor = null;

  return {
    update(run) {
      const s = run && run.status !== "running" ? run.statistics : null;
      const sequence = (s && s.sequence) || [];
      if (shownFor === run && run) return;
      shownFor = run;
      box.hidden = sequence.length < 2;
      said.textContent = s ? rotationSaid(s, t) : "";
      const pods = [...new Set([...(s && s.expected_pods) || [], ...sequence])].sort();
      strip.replaceChildren(...sequence.map((pod, i) => {
        const square = document.createElement("span");
        square.className = "sequence-call";
        square.dataset.pod = pod;
        square.title = t.interpolate(t.gettext("call %(n)s: %(pod)s"), { n: i + 1, pod }, true);
        Object.assign(square.style, {
          display: "inline-block", width: "8px", height: "18px", marginRight: "1px",
          background: colourOf(pods.indexOf(pod), pods.length),
        });
        return square;
      }));
      strip.setAttribute("aria-label", t.interpolate(
        t.gettext("The first %(count)s answers in order, one mark per call, coloured by pod"), { count: sequence.length }, true));
    },
  };
}
