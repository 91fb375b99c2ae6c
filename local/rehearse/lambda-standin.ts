/**
 * The rehearsal's Lambda: a function of the template invoked as the Node.js runtime would, in its
 * own child process (lambda-runner.js), from the bundle `cdk synth` built for it (the asset folder
 * the template's metadata names), with the environment variables the template gives it and its
 * timeout. What the process gets besides the template's variables: the AWS endpoints of the
 * stand-ins (AWS_ENDPOINT_URL_S3, _RDS_DATA, _ATHENA, _SECRETS_MANAGER), their credentials, the
 * region, and NODE_PATH for the modules a bundle leaves to the runtime (the SDK v3 clients).
 *
 * A handler's error comes back as Step Functions sees a Lambda function error: Error = the error's
 * name, Cause = the runtime's JSON error object.
 */
import { spawn } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export interface LambdaFunctionDef {
  readonly logicalId: string;
  readonly arn: string;
  readonly functionName: string;
  readonly bundle: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly environment: Readonly<Record<string, string>>;
}

export interface LambdaStandInOptions {
  readonly functions: readonly LambdaFunctionDef[];
  /** Endpoints and credentials of the stand-ins, added to every function's environment. */
  readonly awsEnvironment: Readonly<Record<string, string>>;
  /** node_modules folder for what a bundle leaves external. */
  readonly nodeModules: string;
  readonly workDir: string;
  readonly log?: (line: string) => void;
}

const RUNNER = path.join(__dirname, 'lambda-runner.js');

/** The error Step Functions reports for a Lambda function error (as test/orchestration's lambdaError). */
export function lambdaFunctionError(errorType: string, errorMessage: string, trace: readonly string[] = []): Error {
  const error = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  error.name = errorType;
  return error;
}

export class LambdaStandIn {
  private readonly byArn: Map<string, LambdaFunctionDef>;

  constructor(private readonly options: LambdaStandInOptions) {
    this.byArn = new Map();
    for (const f of options.functions) {
      this.byArn.set(f.arn, f);
      this.byArn.set(f.functionName, f);
    }
  }

  find(arnOrName: string): LambdaFunctionDef {
    // FunctionName may carry a version or alias qualifier (…:$LATEST).
    const f = this.byArn.get(arnOrName) ?? this.byArn.get(arnOrName.replace(/:(\$LATEST|[A-Za-z0-9_-]+)$/, ''));
    if (!f) throw Object.assign(new Error(`Function not found: ${arnOrName}`), { name: 'Lambda.ResourceNotFoundException' });
    return f;
  }

  /** Invokes a function; resolves with its result, rejects with a Step Functions-shaped error. */
  async invoke(arnOrName: string, event: unknown): Promise<unknown> {
    const f = this.find(arnOrName);
    const requestId = randomUUID();
    const dir = path.join(this.options.workDir, 'lambda');
    fs.mkdirSync(dir, { recursive: true });
    const requestFile = path.join(dir, `${requestId}.request.json`);
    const outcomeFile = path.join(dir, `${requestId}.outcome.json`);
    const timeoutMs = f.timeoutSeconds * 1000;
    fs.writeFileSync(
      requestFile,
      JSON.stringify({ bundle: f.bundle, handler: f.handler, event, timeoutMs, functionName: f.functionName, functionArn: f.arn, requestId, memorySize: f.memorySize }),
    );
    const logFile = path.join(this.options.workDir, 'logs', `lambda-${f.functionName}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const out = fs.openSync(logFile, 'a');
    fs.writeSync(out, `\n=== ${new Date().toISOString()} ${requestId} ${JSON.stringify(event).slice(0, 500)}\n`);
    const child = spawn(process.execPath, [RUNNER, requestFile, outcomeFile], {
      stdio: ['ignore', out, out],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        TZ: 'UTC',
        LANG: 'C.UTF-8',
        NODE_PATH: this.options.nodeModules,
        AWS_LAMBDA_FUNCTION_NAME: f.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(f.memorySize),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...f.environment,
        ...this.options.awsEnvironment,
      },
    });
    fs.closeSync(out);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const started = Date.now();
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    const ms = Date.now() - started;
    fs.rmSync(requestFile, { force: true });
    if (timedOut) {
      this.options.log?.(`lambda ${f.functionName}: timed out after ${f.timeoutSeconds} s`);
      throw lambdaFunctionError('Sandbox.Timedout', `Task timed out after ${f.timeoutSeconds.toFixed(2)} seconds`);
    }
    if (!fs.existsSync(outcomeFile)) {
      throw lambdaFunctionError('Runtime.ExitError', `RequestId: ${requestId} Error: Runtime exited without providing a reason (see ${logFile})`);
    }
    const outcome = JSON.parse(fs.readFileSync(outcomeFile, 'utf8')) as { result?: unknown; errorType?: string; errorMessage?: string; trace?: string[] };
    fs.rmSync(outcomeFile, { force: true });
    if (outcome.errorType !== undefined) {
      this.options.log?.(`lambda ${f.functionName}: ${outcome.errorType}: ${String(outcome.errorMessage).slice(0, 300)} (${ms} ms)`);
      throw lambdaFunctionError(outcome.errorType, outcome.errorMessage ?? '', outcome.trace);
    }
    return outcome.result;
  }
}
