// Shared by the SDK tests: collects what an SDK stream delivers.

const STREAM_WAIT_MS = Number(process.env.BRIGADE_STREAM_WAIT_MS || 15_000);

/**
 * Collects what an SDK stream (status watch or logs) delivers. The SDK's
 * contract: items arrive as "message" events, the end as a "done" event; a
 * stream that just closes makes the SDK reconnect, which counts as a failure.
 */
export function collect(stream, what) {
  const items = [];
  let done = false;
  let failure = null;
  let wake = () => {};
  stream.onData((item) => {
    items.push(item);
    wake();
  });
  stream.onDone(() => {
    done = true;
    wake();
  });
  stream.onError((err) => {
    failure = err;
    wake();
  });
  stream.onReconnecting(() => {
    failure = new Error(`${what}: the server closed the stream without a "done" event, so the SDK reconnects`);
    stream.close();
    wake();
  });
  async function until(condition, description) {
    const deadline = Date.now() + STREAM_WAIT_MS;
    for (;;) {
      if (condition()) return;
      if (failure) throw failure;
      if (done) throw new Error(`${what}: ended before ${description}; got ${JSON.stringify(items)}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        stream.close();
        throw new Error(`${what}: no ${description} within ${STREAM_WAIT_MS} ms; got ${JSON.stringify(items)}`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
  return {
    items,
    messages: () => items.map((e) => e.message),
    phases: () => items.map((s) => s.phase),
    untilItems: (n) => until(() => items.length >= n, `${n} item(s)`),
    untilPhase: (phase) => until(() => items.some((s) => s.phase === phase), `phase ${phase}`),
    untilDone: () => until(() => done, `the "done" event`),
    untilError: async () => {
      await until(() => failure !== null, "an error");
      return failure;
    },
    close: () => stream.close(),
  };
}

