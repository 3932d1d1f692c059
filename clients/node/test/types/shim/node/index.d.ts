// The few declarations of @types/node that lib/index.d.ts uses, so that tsc can check it on a
// machine without @types/node (Debian's node-typescript ships none). Only for the type check.
declare class Buffer extends Uint8Array {}
declare namespace NodeJS {
  type Signals = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';
}
declare module 'stream' {
  class Stream {}
  class Readable extends Stream { on(event: 'data', listener: (chunk: Buffer) => void): this }
  class Writable extends Stream { end(): this }
}
declare module 'child_process' {
  import { Readable, Writable } from 'stream';
  type StdioPipe = 'pipe' | 'overlapped' | undefined | null;
  type StdioNull = 'inherit' | 'ignore';
  class ChildProcess { pid?: number; stdin: Writable | null; stdout: Readable | null }
}
