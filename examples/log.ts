// The examples' logger: the library's WARN/ERROR lines as readable text between the examples' own
// lines (an app would plug in its pino or console here the same way, via `logger`).
import type { LogFields, Logger } from '../src/index.js';

function line(level: string, fields: LogFields, message: string): void {
  const where = [fields.operation, fields.key].filter(Boolean).join(' ');
  const change = fields.from && fields.to ? ` (${fields.from} → ${fields.to})` : '';
  const code = fields.code ? ` [${fields.code}]` : '';
  console.log(`  (library ${level}) ${message}${change}${code}${where ? ` — ${where}` : ''}`);
}

export const demoLogger: Logger = {
  debug() {},
  info() {},
  warn: (fields, message) => line('warn', fields, message),
  error: (fields, message) => line('error', fields, message),
};
