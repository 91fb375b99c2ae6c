/**
 * The `shopsight` command's exit codes, in one place (README, "Exit codes"). The engine's errors
 * carry one of them; the CLI prints the error's one line and exits with it.
 */
export const EXIT = {
  ok: 0,
  /** A bug: the message and stack trace are printed. */
  internal: 1,
  /** Bad arguments or `--config`; an output folder refused because it is not ours or cannot be written. */
  usage: 2,
  inputNotFound: 3,
  /** Empty file, unrecognised header, mixed datasets, no usable row. */
  inputUnusable: 4,
  /** `--mysql`: the database is unusable (checked before the run) or the load failed. */
  mysqlLoad: 5,
  /** `rehearse`: the execution did not do what was asked (see DIR/rehearsal.json). */
  rehearsalFailed: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
