/**
 * A problem with what the user asked the pipeline to read: a bad execution input field, or an input
 * file that is missing, empty, binary or not one of the contract's raw layouts.
 *
 * Step Functions reports a Lambda error by its `name`, so the execution fails with
 * `"Error": "InputValidationError"` and a `"Cause"` holding the runtime's JSON
 * (`{"errorType", "errorMessage", "trace"}`) with the message; the state machine can tell these
 * apart from AWS or code errors (which propagate with their own names) and need not retry them.
 */
export class InputValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputValidationError';
  }
}

export const s3Uri = (bucket: string, key: string): string => `s3://${bucket}/${key}`;
