// Bad input is rejected before anything reaches etcd: VALIDATION_ERROR naming the field.
import { z } from 'zod';
import { validationError } from '../errors.js';
import { checkTtlMs } from '../ttl.js';
import type { ServiceInfo } from './interface.js';


const segment = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .refine((s) => !s.includes('/'), `${what} must not contain "/"`)
    .refine((s) => s !== '.' && s !== '..', `${what} must not be "." or ".."`);

const serviceSchema = z.object({
  id: segment('id'),
  name: segment('name'),
  address: z.string({ error: 'address must be a string' }).refine((s) => s.trim() !== '', 'address must not be empty'),
  port: z.number({ error: 'port must be a number' }).int('port must be an integer').min(1, 'port must be in 1..65535').max(65535, 'port must be in 1..65535'),
  metadata: z.record(z.string(), z.string({ error: 'metadata values must be strings' }), { error: 'metadata must be an object of strings' }).optional(),
});

function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  const path = issue?.path.join('.') ?? '';
  return issue ? `${path ? `${path}: ` : ''}${issue.message}` : 'invalid input';
}

/** A validated, frozen copy of `service` (metadata copied, `{}` when missing). */
export function validService(service: unknown): Readonly<ServiceInfo> {
  const parsed = serviceSchema.safeParse(service);
  if (!parsed.success) throw validationError(`invalid service: ${firstIssue(parsed.error)}`, parsed.error);
  const s = parsed.data;
  const ttlMs = (service as { ttlMs?: unknown }).ttlMs;
  if (ttlMs === undefined && 'ttl' in (service as object)) throw validationError('invalid service: ttlMs is required (the TTL field is `ttlMs`, in milliseconds; `ttl` was renamed)');
  checkTtlMs(ttlMs, 'invalid service: ttlMs');
  return Object.freeze({ id: s.id, name: s.name, address: s.address, port: s.port, metadata: Object.freeze({ ...(s.metadata ?? {}) }), ttlMs: ttlMs as number });
}

const nameSchemas = new Map<string, ReturnType<typeof segment>>();

export function validName(name: unknown, what = 'service name'): string {
  let schema = nameSchemas.get(what);
  if (!schema) nameSchemas.set(what, (schema = segment(what)));
  const parsed = schema.safeParse(name);
  if (!parsed.success) throw validationError(`invalid ${what}: ${firstIssue(parsed.error)}`, parsed.error);
  return parsed.data;
}
