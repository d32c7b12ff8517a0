import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { SesBouncerError } from '../core/errors.js';

// Reading the files a policy names (docs/policy.md "Lists"): `lists: { staff: { file: x } }` must not read
// /dev/zero or a FIFO forever, nor a file of gigabytes into memory. The size is checked before
// reading and the read itself stops one byte past the limit, in case the file grows meanwhile.

/** The largest list file, and the largest policy file, ses-bouncer reads (docs/policy.md "Strict loading"). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

const CHUNK_BYTES = 1024 * 1024;

/** A file ses-bouncer will not read (not a regular file, too large); the message says why. */
export class FileLimitError extends SesBouncerError {
  override readonly name = 'FileLimitError';
}

export interface BoundedReadOptions {
  /** @default MAX_FILE_BYTES */
  readonly maxBytes?: number;
  /** Refuse anything but a regular file (a device, a FIFO, a socket, a directory). @default true */
  readonly regularOnly?: boolean;
}

/**
 * A file's text (UTF-8), reading at most `maxBytes` + 1 bytes. Throws FileLimitError when the file
 * is not a regular file (with `regularOnly`) or is larger than `maxBytes`, else the fs error
 * (ENOENT, EACCES...).
 */
export function readTextFileBounded(file: string, options: BoundedReadOptions = {}): string {
  const maxBytes = options.maxBytes ?? MAX_FILE_BYTES;
  const regularOnly = options.regularOnly ?? true;
  const check = (stats: Stats): void => {
    if (regularOnly && !stats.isFile()) throw new FileLimitError(`not a regular file (${fileKind(stats)})`);
    if (stats.isFile() && stats.size > maxBytes) throw new FileLimitError(`larger than ${formatBytes(maxBytes)} (${stats.size} bytes)`);
  };
  // stat before opening: opening a FIFO for reading would wait for a writer.
  if (regularOnly) check(statSync(file));
  // O_NONBLOCK: should the path have become a FIFO since, open returns at once and fstat refuses it.
  const fd = openSync(file, regularOnly ? constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) : 'r');
  try {
    check(fstatSync(fd));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
      total += read;
      if (total > maxBytes) throw new FileLimitError(`larger than ${formatBytes(maxBytes)}`);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  return 'not a plain file';
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
