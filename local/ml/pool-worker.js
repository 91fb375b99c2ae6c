// One thread of a WorkerPool (local/ml/worker-pool.ts), started from this file. Plain CommonJS so
// that Node runs it as it is under every way the sources run (ts-jest, the CLI's esbuild hook, plain
// JavaScript); the kernels come as source text in workerData, because a worker cannot load the
// TypeScript module that defines them in the first two.
//
// workerData: { ctl: Int32Array, err: Uint8Array (both over SharedArrayBuffers, see worker-pool.ts),
//   source: a function body returning runTask(job, task, inWorker, wasm),
//   wasmBytes: the kernels' WebAssembly module or null, wasmMemory: the memory it imports or null }.
// A message { job, tasks } makes the thread take tasks from the shared counter until none is left,
// then report. A failure stops the other threads' next task and is written to `err` for the main
// thread, which rethrows it; its 'error' event would only reach the main thread's blocked loop later.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');

const { ctl, err } = workerData;
let runTask = null;
let initError = null;
let wasm = null;
try {
  runTask = new Function(workerData.source)();
} catch (e) {
  initError = e;
}
try {
  if (workerData.wasmBytes) {
    const module = new WebAssembly.Module(workerData.wasmBytes);
    wasm = new WebAssembly.Instance(module, { env: { memory: workerData.wasmMemory } }).exports;
  }
} catch (e) {
  // The JS kernels stay: runTask gets wasm = null, as when the module is not offered at all.
  wasm = null;
}

parentPort.on('message', (msg) => {
  const n = msg.tasks;
  try {
    if (initError) throw initError;
    for (;;) {
      const t = Atomics.add(ctl, 0, 1);
      if (t >= n) break;
      runTask(msg.job, t, true, wasm);
      Atomics.add(ctl, 3, 1);
    }
  } catch (e) {
    Atomics.store(ctl, 0, n);
    if (Atomics.compareExchange(ctl, 2, 0, 1) === 0) {
      const text = String((e && e.stack) || e);
      const { written } = new TextEncoder().encodeInto(text, err);
      Atomics.store(ctl, 4, written);
    }
  } finally {
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
});
