// One thread of the write-ahead log's own I/O (log-io.ts): runs each call it is sent with the
// blocking system call, on this thread, and answers in the call's cell of the answer cells it
// was given first (log-io-answer.ts). Anything but a system call's failure is a bug here, and
// is left uncaught: the thread dies of it, and the server fails the calls it had sent (each
// names the error) rather than wait for answers that never come.

import * as fs from 'node:fs';
import { AnswerCells, type LogIoCall, type LogIoStart } from './log-io-answer.ts';

declare const self: Worker;

let cells: AnswerCells | null = null;

self.onmessage = (message: MessageEvent<LogIoStart | LogIoCall>) => {
  const call = message.data;
  if (call.op === 'start') {
    cells = new AnswerCells(call.cells);
    return;
  }
  // Messages from one sender arrive in order: the cells came before any call.
  if (cells === null) throw new Error(`a log I/O call (${call.op}) came before its answer cells`);
  try {
    if (call.op === 'ready') {
      cells.answer(call.cell, 0);
    } else if (call.op === 'fdatasync') {
      fs.fdatasyncSync(call.fd);
      cells.answer(call.cell, 0);
    } else if (call.op === 'writev') {
      cells.answer(call.cell, fs.writevSync(call.fd, call.parts));
    } else {
      throw new Error(`a log I/O call of unknown op ${(call as { op: unknown }).op}`);
    }
  } catch (error) {
    const { errno } = error as NodeJS.ErrnoException;
    // Not the system call's answer (a bad argument: a TypeError), which an errno would have
    // misreported (-1 reads as EPERM).
    if (typeof errno !== 'number') throw error;
    cells.answer(call.cell, errno, true);
  }
};

// A call that could not be read: its cell is unknown, so it would never be answered.
self.onmessageerror = () => {
  throw new Error('a log I/O call could not be read by its thread');
};
