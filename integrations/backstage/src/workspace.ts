import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A workspace file as `POST /v1/check` takes it. */
export interface CheckFile {
  path: string;
  content: string;
  encoding: 'utf-8' | 'base64';
}

/** Bounds on what one check sends; past them the check fails rather than sending part of the workspace. */
export interface FileLimits {
  maxFiles: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: FileLimits = { maxFiles: 500, maxBytes: 8 * 1024 * 1024 };

/** Extensions picked up when no `paths` are given. */
export const DEFAULT_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/** Folders never walked (as gate serve skips them too): dependencies, template skeletons, and every hidden folder such as .git. */
const SKIPPED_DIRS = new Set(['node_modules', 'vendor', 'skeleton', '__pycache__']);

/** Lock files are JSON/YAML but never governance inputs, and often large. */
const SKIPPED_FILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock']);

/** A problem with the files to check: bad `paths`, or a workspace over the limits. */
export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

const GLOB_CHARS = /[*?[]/;

/**
 * A glob as a regular expression over POSIX-style relative paths.
 * `**` spans folders, `*` and `?` stay inside one path segment, `[...]` is a character class.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const ch = glob.charAt(i);
    if (ch === '*') {
      if (glob.charAt(i + 1) === '*') {
        const atStart = i === 0 || glob.charAt(i - 1) === '/';
        const atEnd = i + 2 === glob.length || glob.charAt(i + 2) === '/';
        if (atStart && atEnd) {
          // `**/` matches zero or more whole folders; a trailing `**` matches everything below.
          if (i + 2 === glob.length) {
            out += '.*';
            i += 2;
          } else {
            out += '(?:[^/]+/)*';
            i += 3;
          }
          continue;
        }
        out += '[^/]*';
        i += 2;
        continue;
      }
      out += '[^/]*';
      i += 1;
      continue;
    }
    if (ch === '?') {
      out += '[^/]';
      i += 1;
      continue;
    }
    if (ch === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close > 0) {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close + 1;
        continue;
      }
    }
    out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    i += 1;
  }
  return new RegExp(`^${out}$`);
}

/** `p` as a clean workspace-relative POSIX path, or a WorkspaceError when it leaves the workspace. */
export function normaliseRelative(p: string): string {
  const posix = p.replace(/\\/g, '/');
  if (posix.startsWith('/') || /^[A-Za-z]:\//.test(posix)) {
    throw new WorkspaceError(`paths: "${p}" is absolute; give paths relative to the workspace`);
  }
  const norm = path.posix.normalize(posix).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../')) {
    throw new WorkspaceError(`paths: "${p}" points outside the workspace`);
  }
  return norm === '' ? '.' : norm;
}

function hiddenOrSkipped(name: string): boolean {
  return name.startsWith('.') || SKIPPED_DIRS.has(name);
}

/** Every regular file under `dir` (relative POSIX paths, sorted), skipping hidden and dependency folders. */
async function walk(root: string, rel: string, out: string[], limits: FileLimits): Promise<void> {
  const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = rel === '.' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!hiddenOrSkipped(entry.name)) await walk(root, child, out, limits);
    } else if (entry.isFile() && !entry.name.startsWith('.')) {
      out.push(child);
      // The walk itself is bounded too, so a workspace with a huge tree fails fast.
      if (out.length > limits.maxFiles * 20) {
        throw new WorkspaceError(
          `the workspace holds more than ${limits.maxFiles * 20} files; name the governance inputs with the paths input`,
        );
      }
    }
  }
}

function isDefaultCandidate(rel: string): boolean {
  const name = path.posix.basename(rel);
  if (SKIPPED_FILES.has(name)) return false;
  const lower = name.toLowerCase();
  return DEFAULT_EXTENSIONS.some(ext => lower.endsWith(ext));
}

/** The size of `abs` when it is a regular file whose real location is inside the workspace, else undefined. */
async function sizeInside(realWorkspace: string, abs: string): Promise<number | undefined> {
  try {
    const stat = await fs.lstat(abs);
    if (!stat.isFile()) return undefined;
    const real = await fs.realpath(abs);
    return real.startsWith(realWorkspace + path.sep) ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The workspace-relative files to send.
 *
 * Without `patterns`: the YAML and JSON files of the workspace (no hidden or dependency folders, no
 * lock files). With `patterns`: each entry is a file, a folder (its default candidates) or a glob;
 * an entry that matches nothing is an error, so a typo never turns into an empty check.
 */
export async function selectFiles(
  workspacePath: string,
  patterns: readonly string[] | undefined,
  limits: FileLimits = DEFAULT_LIMITS,
): Promise<string[]> {
  let all: string[] | undefined;
  const listAll = async (): Promise<string[]> => {
    if (all === undefined) {
      all = [];
      await walk(workspacePath, '.', all, limits);
    }
    return all;
  };

  const chosen = new Set<string>();
  if (patterns === undefined || patterns.length === 0) {
    for (const rel of await listAll()) if (isDefaultCandidate(rel)) chosen.add(rel);
  } else {
    for (const raw of patterns) {
      for (const rel of await matchPattern(workspacePath, raw, listAll)) chosen.add(rel);
    }
  }
  const files = [...chosen].sort();
  if (files.length > limits.maxFiles) {
    throw new WorkspaceError(
      `${files.length} files to check, more than the limit of ${limits.maxFiles}; narrow them with the paths input`,
    );
  }
  return files;
}

/** The files one `paths` entry names: a glob, a folder (its default candidates) or a file. */
async function matchPattern(
  workspacePath: string,
  raw: string,
  listAll: () => Promise<string[]>,
): Promise<string[]> {
  const rel = normaliseRelative(raw.trim());
  let matches: string[];
  if (GLOB_CHARS.test(rel)) {
    const re = globToRegExp(rel);
    matches = (await listAll()).filter(candidate => re.test(candidate));
  } else {
    let stat;
    try {
      stat = await fs.lstat(path.join(workspacePath, rel));
    } catch {
      throw new WorkspaceError(`paths: "${raw}" does not exist in the workspace`);
    }
    if (stat.isDirectory()) {
      const prefix = rel === '.' ? '' : `${rel}/`;
      matches = (await listAll()).filter(c => c.startsWith(prefix) && isDefaultCandidate(c));
    } else if (stat.isFile()) {
      matches = [rel];
    } else {
      throw new WorkspaceError(
        `paths: "${raw}" is not a regular file or folder (symbolic links are not followed)`,
      );
    }
  }
  if (matches.length === 0) {
    throw new WorkspaceError(`paths: "${raw}" matches no file in the workspace`);
  }
  return matches;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Read the files as request entries: UTF-8 text as is, anything else base64. Enforces the byte limit. */
export async function readFiles(
  workspacePath: string,
  files: readonly string[],
  limits: FileLimits = DEFAULT_LIMITS,
): Promise<{ files: CheckFile[]; bytes: number }> {
  const out: CheckFile[] = [];
  const realWorkspace = await fs.realpath(workspacePath);
  let total = 0;
  for (const rel of files) {
    const abs = path.join(workspacePath, rel);
    const size = await sizeInside(realWorkspace, abs);
    if (size === undefined) {
      throw new WorkspaceError(
        `${rel}: not a regular file inside the workspace (symbolic links are not followed)`,
      );
    }
    // Checked before reading, so an oversized file is never loaded.
    if (total + size > limits.maxBytes) {
      throw new WorkspaceError(
        `the files to check exceed ${limits.maxBytes} bytes (at ${rel}); narrow them with the paths input`,
      );
    }
    const data = await fs.readFile(abs);
    total += data.length;
    if (total > limits.maxBytes) {
      throw new WorkspaceError(
        `the files to check exceed ${limits.maxBytes} bytes (at ${rel}); narrow them with the paths input`,
      );
    }
    let entry: CheckFile;
    try {
      entry = { path: rel, content: utf8.decode(data), encoding: 'utf-8' };
    } catch {
      entry = { path: rel, content: data.toString('base64'), encoding: 'base64' };
    }
    out.push(entry);
  }
  return { files: out, bytes: total };
}
