/**
 * `hookline serve` refusing to start for a reason the operator must fix (another instance on
 * the database or the port, a file it will not overwrite): main prints the message alone, no
 * stack, and exits with `exitCode` (2, as for a refused configuration).
 */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "StartupError";
  }
}
