// The order in which an allocator tries free IDs: the preferred one first, then every other free ID
// once, starting at a random point and wrapping around, so that concurrent allocators spread over
// the pool instead of all racing for its lowest free ID.

/**
 * Free IDs of [min, max] not in `taken`, lazily (a range may span a million IDs): `preferred` first
 * when it is free, then the rest from a random start.
 */
export function* freeCandidates(
  min: number,
  max: number,
  taken: ReadonlySet<number>,
  preferred?: number,
  random: () => number = Math.random,
): Generator<number, void> {
  if (preferred !== undefined && preferred >= min && preferred <= max && !taken.has(preferred)) yield preferred;
  const size = max - min + 1;
  const start = Math.min(size - 1, Math.floor(random() * size));
  for (let i = 0; i < size; i++) {
    const id = min + ((start + i) % size);
    if (id !== preferred && !taken.has(id)) yield id;
  }
}
