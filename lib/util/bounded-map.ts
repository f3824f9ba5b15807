/**
 * Deletes the oldest entries (a Map iterates in insertion order) until at most `max` remain. Caches
 * that re-insert on refresh get least-recently-written eviction from it.
 */
export function evictOldest<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}
