// etcd selects "every key starting with P" as the range [P, prefixEnd(P)).

/** Byte string just after every key of `prefix`: its last byte below 0xff incremented; `\0` = to the end of the keyspace. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
