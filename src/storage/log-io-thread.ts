// One thread of the write-ahead log's own I/O (log-io.ts): runs each call it is sent with the
// blocking system call, on this thread, and answers through the call's shared memory.

import * as fs from 'node:fs';
import { answerCall, type LogIoCall } from './log-io-answer.ts';

declare const self: Worker;

self.onmessage = (message: MessageEvent<LogIoCall>) => {
  const call = message.data;
  try {
    if (call.op === 'ready') {
      answerCall(call.answer, 0);
    } else if (call.op === 'fdatasync') {
      fs.fdatasyncSync(call.fd);
      answerCall(call.answer, 0);
    } else {
      answerCall(call.answer, fs.writevSync(call.fd, call.parts));
    }
  } catch (error) {
    answerCall(call.answer, (error as NodeJS.ErrnoException).errno ?? -1, true);
  }
};
