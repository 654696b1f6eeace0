// A logger that records every line, for asserting what is (and is never) logged.
import assert from 'node:assert/strict';
import type { Logger, LogFields } from '../../src/index.js';

export interface CapturedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: LogFields;
  message: string;
}

export function captureLogger(): { logger: Logger; lines: CapturedLine[]; text(): string; assertNotContains(secret: string): void } {
  const lines: CapturedLine[] = [];
  const at = (level: CapturedLine['level']) => (fields: LogFields, message: string) => lines.push({ level, fields: { ...fields }, message });
  return {
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    lines,
    text: () => lines.map((l) => JSON.stringify(l)).join('\n'),
    assertNotContains(secret: string) {
      const all = lines.map((l) => JSON.stringify(l)).join('\n');
      assert.ok(!all.includes(secret), `logs contain a secret: ${secret}`);
    },
  };
}
