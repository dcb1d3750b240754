/**
 * One server's file cache (Jobe's app/Libraries/FileCache.php, /home/jobe/files). Ids holding 32 lowercase
 * hex digits anywhere live at `<id[0:2]>/<id[2:4]>/<id[4:]>`, others flat at `<id>`; the directory layout is kept
 * because it shows through: a flat 2-character id names the same path as a top-level directory.
 */
const MD5_PATTERN = /[0-9a-f]{32}/;
/** The file system's limit on one path component (Linux NAME_MAX): a longer name cannot be created. */
const NAME_MAX = 255;

export class FileCache {
  private readonly files = new Map<string, Buffer>();
  /** Top-level directories made for hashed ids. */
  private readonly topDirectories = new Set<string>();

  get size(): number {
    return this.files.size;
  }

  /**
   * filePutContents: overwrites; false where PHP's write fails: a directory or file already holds the path,
   * or the file's name is too long (ENAMETOOLONG).
   */
  put(fileId: string, contents: Buffer): boolean {
    if (MD5_PATTERN.test(fileId)) {
      const top = fileId.slice(0, 2);
      if (this.files.has(top)) return false;
      // mkdir() comes first: the directories stay even when the file's name is then refused.
      this.topDirectories.add(top);
      if (fileId.length - 4 > NAME_MAX) return false;
    } else if (fileId.length > NAME_MAX || this.topDirectories.has(fileId)) {
      return false;
    }
    this.files.set(fileId, contents);
    return true;
  }

  /** fileExists (HEAD): PHP's file_exists() is also true for a directory. */
  exists(fileId: string): boolean {
    return this.files.has(fileId) || (!MD5_PATTERN.test(fileId) && this.topDirectories.has(fileId));
  }

  /** loadFileToWorkspace: the contents to copy into a run, or undefined when the copy fails. */
  load(fileId: string): Buffer | undefined {
    return this.files.get(fileId);
  }

  clear(): void {
    this.files.clear();
    this.topDirectories.clear();
  }
}
