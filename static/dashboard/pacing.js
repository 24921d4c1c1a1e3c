// Drawing less often than the calls arrive, without ever missing the last state.

// fn(value) at most once per `ms`: a call within that time is put off, and the last value wins,
// so the final state is always drawn.
export function atMostEvery(ms, fn) {
  let last = -Infinity;
  let timer = null;
  let pending;
  return (value) => {
    pending = value;
    const wait = last + ms - performance.now();
    if (wait <= 0 && !timer) {
      last = performance.now();
      fn(value);
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        fn(pending);
      }, Math.max(0, wait));
    }
  };
}
