// One thread of the write-ahead log's own I/O (log-io.ts): runs each call it is sent with the
// blocking system call, on this thread, and answers in the call's cell of the answer cells it
// was given first (log-io-answer.ts).

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
    } else {
      cells.answer(call.cell, fs.writevSync(call.fd, call.parts));
    }
  } catch (error) {
    cells.answer(call.cell, (error as NodeJS.ErrnoException).errno ?? -1, true);
  }
};
