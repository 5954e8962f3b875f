/** A command-line mistake (unknown flag, missing value, bad syntax): one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
