// The calls the page has counted, as the reducer keeps them (immutable): one bit per call's `seq`
// in a bitmap per run. A batch copies the bitmap of its run (1.25 KiB for a 10,000-call run)
// where a Set of "run:seq" strings cost a copy of every key seen on every message.

const MAX_SEQ = 1 << 24; // past this (never, runs hold at most max_count calls) a plain Set

export class SeenCalls {
  constructor(runs = new Map(), others = new Set()) {
    this.runs = runs; // run id -> Uint8Array, bit `seq` set when counted
    this.others = others; // "run:seq" of calls whose run or seq is not a small integer
  }

  static of(calls) {
    return new SeenCalls().with(calls);
  }

  has(call) {
    if (!bitwise(call)) return this.others.has(`${call.run}:${call.seq}`);
    const bits = this.runs.get(call.run);
    return Boolean(bits) && (call.seq >> 3) < bits.length && (bits[call.seq >> 3] & (1 << (call.seq & 7))) !== 0;
  }

  // A new SeenCalls with `calls` added; this one is left as it was.
  with(calls) {
    if (!calls.length) return this;
    const runs = new Map(this.runs);
    const copied = new Set();
    let others = this.others;
    for (const call of calls) {
      if (!bitwise(call)) {
        if (others === this.others) others = new Set(others);
        others.add(`${call.run}:${call.seq}`);
        continue;
      }
      let bits = runs.get(call.run);
      const byte = call.seq >> 3;
      const have = bits ? bits.length : 0;
      if (!copied.has(call.run) || byte >= have) {
        // Copied once per batch (never written in place: the previous state keeps its own).
        const grown = new Uint8Array(byte >= have ? Math.max(128, 2 * (byte + 1)) : have);
        if (bits) grown.set(bits);
        bits = grown;
        runs.set(call.run, bits);
        copied.add(call.run);
      }
      bits[byte] |= 1 << (call.seq & 7);
    }
    return new SeenCalls(runs, others);
  }

  // "run:seq" of every call counted, as the Set it replaces listed them (for tests and users).
  *[Symbol.iterator]() {
    for (const [run, bits] of this.runs) {
      for (let byte = 0; byte < bits.length; byte += 1) {
        for (let bit = 0; bits[byte] && bit < 8; bit += 1) if (bits[byte] & (1 << bit)) yield `${run}:${byte * 8 + bit}`;
      }
    }
    yield* this.others;
  }
}

function bitwise(call) {
  return Number.isInteger(call.run) && Number.isInteger(call.seq) && call.seq >= 0 && call.seq < MAX_SEQ;
}
