// ssh2-sftp-client v12's API over psftp: `import Client from 'psftp/ssh2-sftp-client'`.
import type { Readable, Writable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { CnOpts, CnOptsOptions, Connection, Name } from './index.js';

declare namespace SftpClient {
  interface ConnectOptions {
    host: string;
    port?: number;
    username?: string;
    password?: string;
    /** The key itself (OpenSSH or PEM), as with ssh2; never shown in an error. */
    privateKey?: string | Buffer;
    passphrase?: string;
    /** Milliseconds the connection and handshake may take. */
    readyTimeout?: number;
    /** Milliseconds between keepalives (rounded up to whole seconds). */
    keepaliveInterval?: number;
    /** A connected socket to speak SSH over. */
    sock?: import('node:net').Socket;
    promiseLimit?: number;
    /** psftp's host-key policy and more: host keys are checked against ~/.ssh/known_hosts by default. */
    cnopts?: CnOpts | CnOptsOptions;
  }

  interface FileInfo {
    type: 'd' | '-' | 'l' | string;
    /** A Buffer when the name is not UTF-8. */
    name: Name;
    size: number;
    /** Milliseconds since the epoch. */
    modifyTime: number;
    accessTime: number;
    rights: { user: string; group: string; other: string };
    owner: number;
    group: number;
    longname: string;
  }

  interface FileStats {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    /** Milliseconds since the epoch. */
    accessTime: number;
    modifyTime: number;
    isDirectory: boolean;
    isFile: boolean;
    isBlockDevice: boolean;
    isCharacterDevice: boolean;
    isSymbolicLink: boolean;
    isFIFO: boolean;
    isSocket: boolean;
  }

  type ListFilterFunction = (fileInfo: FileInfo) => boolean;

  interface TransferOptions {
    /** Only {} or undefined: psftp reads and writes files itself. */
    readStreamOptions?: Record<string, never>;
    writeStreamOptions?: Record<string, never>;
    pipeOptions?: { end?: boolean };
  }

  interface PutOptions {
    readStreamOptions?: Record<string, never>;
    writeStreamOptions?: { mode?: number | string };
    pipeOptions?: Record<string, never>;
  }

  interface FastOptions {
    step?: (totalTransferred: number, chunk: number, total: number) => void;
    /**
     * psftp's addition: cancels the transfer alone (an AbortError, `cause` the
     * signal's reason); the connection and its other calls go on.
     */
    signal?: AbortSignal;
  }

  interface FastPutOptions extends FastOptions {
    mode?: number | string;
  }

  interface DirOptions {
    /**
     * Keeps an entry (a refused directory is not entered). Without one the
     * whole tree moves through psftp's parallel tree transfer; with one,
     * file by file.
     */
    filter?: (path: string, isDirectory: boolean) => boolean;
    useFastput?: boolean;
    useFastget?: boolean;
  }
}

declare class SftpClient extends EventEmitter {
  constructor(clientName?: string, callbacks?: { error?: (err: Error) => void; end?: () => void; close?: () => void });
  clientName: string;
  promiseLimit: number;
  /** The psftp Connection underneath, for psftp's own methods; null before connect(). */
  readonly sftp: Connection | null;
  connect(options: SftpClient.ConnectOptions): Promise<Connection>;
  end(): Promise<boolean>;
  realPath(remotePath: string): Promise<string>;
  cwd(): Promise<string>;
  stat(remotePath: string): Promise<SftpClient.FileStats>;
  lstat(remotePath: string): Promise<SftpClient.FileStats>;
  exists(remotePath: string): Promise<false | 'd' | '-' | 'l'>;
  list(remotePath: string, filter?: SftpClient.ListFilterFunction): Promise<SftpClient.FileInfo[]>;
  get(remotePath: string, dst?: undefined, options?: SftpClient.TransferOptions): Promise<Buffer>;
  get(remotePath: string, dst: string, options?: SftpClient.TransferOptions): Promise<string>;
  get<W extends Writable | NodeJS.WritableStream>(remotePath: string, dst: W, options?: SftpClient.TransferOptions): Promise<W>;
  fastGet(remotePath: string, localPath: string, options?: SftpClient.FastOptions): Promise<string>;
  fastPut(localPath: string, remotePath: string, options?: SftpClient.FastPutOptions): Promise<string>;
  put(input: string | Buffer | Readable | NodeJS.ReadableStream, remotePath: string, options?: SftpClient.PutOptions): Promise<string>;
  append(input: Buffer | Readable | NodeJS.ReadableStream, remotePath: string, options?: Record<string, never>): Promise<string>;
  mkdir(remotePath: string, recursive?: boolean): Promise<string>;
  rmdir(remotePath: string, recursive?: boolean): Promise<string>;
  delete(remotePath: string, notFoundOK?: boolean): Promise<string>;
  rename(fromPath: string, toPath: string): Promise<string>;
  posixRename(fromPath: string, toPath: string): Promise<string>;
  chmod(remotePath: string, mode: number | string): Promise<string>;
  uploadDir(srcDir: string, dstDir: string, options?: SftpClient.DirOptions): Promise<string>;
  downloadDir(srcDir: string, dstDir: string, options?: SftpClient.DirOptions): Promise<string>;
  createReadStream(remotePath: string, options?: { start?: number; highWaterMark?: number; autoClose?: boolean }): Readable;
  createWriteStream(remotePath: string, options?: { flags?: 'w' | 'a' | 'x'; highWaterMark?: number; autoClose?: boolean }): Writable;
  rcopy(srcPath: string, dstPath: string): Promise<string>;
}

export = SftpClient;
