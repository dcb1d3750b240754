/**
 * What Jobe's file cache (app/Libraries/FileCache.php) can store: the route already limits ids to
 * `[A-Za-z0-9]+` (no `/`, NUL or dot segment reaches it), so what is left is the file system's limit on one
 * file name. An id holding 32 lowercase hex digits anywhere is stored as `<id[0:2]>/<id[2:4]>/<id[4:]>`,
 * any other as `<id>`; a name over NAME_MAX makes file_put_contents() fail (a 500) and file_exists() false.
 */
const HASHED_ID = /[0-9a-f]{32}/;

/** Linux's NAME_MAX: the longest file name ext4, xfs and btrfs accept (bytes; ids are ASCII). */
const NAME_MAX = 255;

/** The longest id any Jobe can store: a hashed one, whose first 4 characters become directories. */
export const MAX_FILE_ID_LENGTH = NAME_MAX + 4;

/** Whether a Jobe server could hold a file under this (alphanumeric) id. */
export function isStorableFileId(fileId: string): boolean {
  if (fileId.length <= NAME_MAX) return true;
  return fileId.length <= MAX_FILE_ID_LENGTH && HASHED_ID.test(fileId);
}

/** Files::head's `if (!$fileId)`: PHP takes the string "0" for no id at all. */
export function isPhpEmptyFileId(fileId: string): boolean {
  return fileId === '0';
}
