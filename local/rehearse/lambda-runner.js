// Runs one Lambda invocation in this process, as the Node.js runtime would: requires the bundled
// handler, calls it with the event and a context, and writes the outcome as JSON to the file named
// by argv[3] ({ "result": … } or { "errorType", "errorMessage" }). Started by lambda-standin.ts
// with the function's environment from the template; argv[2] names a JSON file
// { "bundle": <folder>, "handler": "index.handler", "event": …, "timeoutMs": …, "functionName": … }.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const outcomeFile = process.argv[3];
const write = (outcome) => fs.writeFileSync(outcomeFile, JSON.stringify(outcome));

const started = Date.now();
const context = {
  functionName: request.functionName,
  awsRequestId: request.requestId,
  invokedFunctionArn: request.functionArn,
  memoryLimitInMB: String(request.memorySize),
  getRemainingTimeInMillis: () => Math.max(0, request.timeoutMs - (Date.now() - started)),
  callbackWaitsForEmptyEventLoop: true,
};

(async () => {
  const [file, exportName] = request.handler.split(/\.(?=[^.]+$)/);
  const mod = require(path.join(request.bundle, file));
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw Object.assign(new Error(`${request.handler} is not a function in ${request.bundle}`), { name: 'Runtime.HandlerNotFound' });
  const result = await fn(request.event, context);
  write({ result: result === undefined ? null : result });
})().then(
  () => process.exit(0),
  (e) => {
    const error = e instanceof Error ? e : new Error(String(e));
    write({ errorType: error.name || 'Error', errorMessage: error.message, trace: String(error.stack || '').split('\n') });
    process.exit(0);
  },
);
