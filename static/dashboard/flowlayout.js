// Where the flow's boxes go (pure): the drawing is laid out in CSS pixels, one user unit to one
// pixel, so its text is drawn at its font size whatever the window. Each box is as wide as its
// longest text; the pods' cards take what the pods' names need, and the gaps between the boxes
// give way first, then the drawing is scaled down a little (to MIN_SCALE). Only when the names
// need more than that is a name shortened (shorten below), and then the card tells the full
// name on hover and focus (flowcards.js).

const MIN_WIDTH = 760; // narrower than this, the drawing is scaled down instead
const MIN_SCALE = 0.9; // text drawn at 90% of its size still reads; a cut name has to be looked up
export const NAME_X = 28; // a card's text starts after its state marker
const PAD = 10;
const RIGHT = 6;
const GAPS = { main: [40, 110], fan: [50, 90] }; // [least, enough] between consumer, Service, cards
const BOXES = { consumer: [150, 240], service: [170, 360], card: [280, Infinity] }; // [least, most]

const clamp = (value, [least, most]) => Math.min(most, Math.max(least, Math.ceil(value)));

// `width`: the drawing's width in pixels; `texts`: the widest text of the consumer, of the
// Service and of the pods' names, in pixels.
export function columns(width, texts) {
  const consumer = clamp(texts.consumer + 24, BOXES.consumer);
  const service = clamp(texts.service + 40, BOXES.service);
  const least = PAD + consumer + GAPS.main[0] + service + GAPS.fan[0] + RIGHT;
  const wanted = clamp(texts.card + NAME_X + 14, BOXES.card);
  const shown = Math.max(MIN_WIDTH, Math.floor(width) || 900);
  const W = Math.max(shown, Math.min(least + wanted, Math.floor(shown / MIN_SCALE)));
  const card = Math.min(wanted, W - least);
  // What is left goes to the gaps, each up to "enough", then to both alike.
  let spare = W - least - card;
  const grow = (gap) => {
    const more = Math.min(spare, gap[1] - gap[0]);
    spare -= more;
    return gap[0] + more;
  };
  let fan = grow(GAPS.fan);
  let main = grow(GAPS.main);
  main += Math.floor(spare / 2);
  fan += spare - Math.floor(spare / 2);
  const consumerX = PAD;
  const serviceX = consumerX + consumer + main;
  const cardX = serviceX + service + fan;
  return {
    width: W,
    consumer: { x: consumerX, width: consumer },
    service: { x: serviceX, width: service },
    card: { x: cardX, width: W - RIGHT - cardX },
    nameRoom: W - RIGHT - cardX - NAME_X - 10,
  };
}

// The longest form of `full` that `measure` says fits in `room` pixels, cut in the middle: the
// end of a pod's name (its ReplicaSet's hash and its own suffix) is what tells it from its
// siblings, so it is kept whole as long as anything is; the start fills what room is left.
export function shorten(full, room, measure) {
  if (measure(full) <= room) return full;
  const dashes = [...full.matchAll(/-/g)].map((match) => match.index);
  const tail = dashes.length >= 2 ? full.length - dashes[dashes.length - 2] - 1 : Math.ceil(full.length / 2);
  const cut = (kept) => {
    const end = Math.min(tail, kept);
    return `${full.slice(0, kept - end)}…${full.slice(full.length - end)}`;
  };
  let low = 1;
  let high = full.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (measure(cut(middle)) <= room) low = middle;
    else high = middle - 1;
  }
  return cut(low);
}
