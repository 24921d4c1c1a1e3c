// A pod's count against its share under a uniform choice (pure): the colour bucket of a cell
// in the compact view, and the band of the distribution.

const STEPS = 10; // colour buckets each side of "as expected"
const LOW = [33, 102, 172]; // #2166ac: half the expected share or less
const MID = [247, 247, 247]; // #f7f7f7: as expected
const HIGH = [178, 24, 43]; // #b2182b: twice the expected share or more

// The bucket of a count against its expected value, -STEPS..STEPS on a log2 scale clamped at
// half and twice; null before any call (no colour).
export function shareBucket(count, expected) {
  if (!expected) return null;
  const log = count > 0 ? Math.log2(count / expected) : -1;
  return Math.round(Math.max(-1, Math.min(1, log)) * STEPS);
}

export function bucketColour(bucket) {
  if (bucket === null) return "";
  const [from, to, f] = bucket < 0 ? [MID, LOW, -bucket / STEPS] : [MID, HIGH, bucket / STEPS];
  const channel = (index) => Math.round(from[index] + (to[index] - from[index]) * f);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

// The pods the spread is judged over: the run's expected pods, else the ready endpoints. Asked
// several times a frame (each cell's colour, the focused cell, the distribution); the count of
// the last endpoint list is kept, as the state's lists are never changed in place.
let counted = { endpoints: null, ready: 0 };
export function expectedPodCount(state) {
  const expected = state.run && state.run.expected_pods;
  if (expected && expected.length) return expected.length;
  if (counted.endpoints !== state.endpoints) {
    counted = { endpoints: state.endpoints, ready: state.endpoints.filter((endpoint) => endpoint.state === "ready" && endpoint.pod).length };
  }
  return counted.ready;
}

// {mean, low, high} of one pod's count when `total` calls each pick one of `pods` at random.
export function uniformBand(total, pods) {
  if (!total || !pods) return { mean: 0, low: 0, high: 0 };
  const mean = total / pods;
  const sd = Math.sqrt(total * (1 / pods) * (1 - 1 / pods));
  return { mean, low: Math.max(0, mean - 2 * sd), high: mean + 2 * sd };
}
