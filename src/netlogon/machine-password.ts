import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigurationError } from '../errors.js';
import { ntowfv1 } from '../ntlm/crypto.js';

/** Where the machine password comes from: a file (read again when the DC refuses it), or a string given once. */
export type MachinePasswordSource = { readonly file: string } | { readonly password: string };

/** What happened when the password was read again, for the log. */
export interface MachinePasswordReread {
  readonly file: string;
  /** The file now holds another password: the next NetrServerAuthenticate3 uses it. */
  readonly changed: boolean;
  /** Why the file could not be read (the password in use is kept). */
  readonly error?: string;
}

/**
 * The machine account's NT hash, the only form of the password the secure channel needs (the
 * password itself is not kept, not even to tell whether it changed). Machine passwords rotate (Windows members every 30 days, or an
 * operator's `samba-tool user setpassword`): when the DC refuses the machine account, the file is
 * read again, so that a file replaced atomically (written beside, renamed over) is picked up by
 * the running process. A password given as a string cannot change; rotating it needs a restart.
 */
export class MachinePassword {
  #ntHash: Promise<Buffer>;
  #rereading: Promise<boolean> | undefined;

  constructor(
    private readonly source: MachinePasswordSource,
    private readonly onReread: (event: MachinePasswordReread) => void = () => {},
  ) {
    this.#ntHash = hash(
      'file' in source ? parse(readStartupFile(source.file), source.file) : source.password,
    );
  }

  /** The NT hash of the password read last. */
  get ntHash(): Promise<Buffer> {
    return this.#ntHash;
  }

  /**
   * Reads the file again; true when it holds another password than before (worth one more
   * NetrServerAuthenticate3). Concurrent callers share one read.
   */
  reread(): Promise<boolean> {
    if (!('file' in this.source)) return Promise.resolve(false);
    const file = this.source.file;
    this.#rereading ??= this.#readAgain(file).finally(() => {
      this.#rereading = undefined;
    });
    return this.#rereading;
  }

  async #readAgain(file: string): Promise<boolean> {
    let ntHash: Buffer;
    try {
      ntHash = await hash(parse(await readFile(file, 'utf8'), file));
    } catch (error) {
      this.onReread({ file, changed: false, error: (error as Error).message });
      return false;
    }
    const changed = !ntHash.equals(await this.#ntHash.catch(() => Buffer.alloc(0)));
    if (changed) this.#ntHash = Promise.resolve(ntHash);
    this.onReread({ file, changed });
    return changed;
  }
}

function readStartupFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `netlogon: cannot read machinePasswordFile ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** One line; a trailing newline is not part of the password. */
function parse(text: string, file: string): string {
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new ConfigurationError(`netlogon: machinePasswordFile ${file} is empty`);
  return password;
}

function hash(password: string): Promise<Buffer> {
  const ntHash = ntowfv1(password);
  ntHash.catch(() => {}); // surfaced when used; never an unhandled rejection
  return ntHash;
}
