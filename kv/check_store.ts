/**
 * @module `deno task check-store [path]`: verify a Nexus KV is consistent. Every index key must
 * point to a stored event and be one of that event's index keys, every stored event must have all
 * its index keys, and every replaceable pointer must name a stored event. Exits 1 on any problem.
 */
import { idBytes, idHex, indexKeys, legacyIndexKeys, P, uninvertId } from "./keys.ts";
import { decodeEntry } from "./entry.ts";
import { decodeEvent, withJson } from "./kv_query.ts";
import type { Pointer } from "./semantics.ts";

/** What a check found; every list is empty in a consistent store. */
export interface StoreReport {
  events: number;
  indexKeys: number;
  /** Events that are not valid JSON or whose id does not match their key. */
  badEvents: string[];
  /** Index keys (as text) an event should have but lacks. */
  missingIndex: string[];
  /** Index keys naming an event that is not stored. */
  danglingIndex: string[];
  /** Index keys naming a stored event that should not have them. */
  strayIndex: string[];
  /** Pointers naming an event that is not stored. */
  danglingPointers: string[];
}

const INDEX_PREFIXES = [P.created, P.kind, P.author, P.authorKind, P.tag];

/** Check a store; entries past their expiry are skipped, since KV sweeps them one key at a time. */
export async function checkStore(kv: Deno.Kv, now = Date.now() / 1000): Promise<StoreReport> {
  const report: StoreReport = {
    events: 0,
    indexKeys: 0,
    badEvents: [],
    missingIndex: [],
    danglingIndex: [],
    strayIndex: [],
    danglingPointers: [],
  };
  const expired = (x: number | undefined) => !!x && x <= now + 1;
  // id -> its expected index keys; undefined for events that expired (their keys may be half swept).
  const expected = new Map<string, Set<string> | undefined>();
  // Keys an earlier version wrote for the event: allowed while it lives, never required.
  const legacy = new Map<string, Set<string>>();
  const check = async (ids: string[], values: Uint8Array[]) => {
    // One malformed entry must not hide the rest of the batch: read those one by one.
    const read = await withJson(kv, ids, values).catch(() =>
      Promise.all(
        ids.map((id, i) => withJson(kv, [id], [values[i]!]).then((r) => r[0], () => undefined)),
      )
    );
    ids.forEach((id, i) => {
      const v = read[i];
      try {
        const ev = decodeEvent(v!.j!);
        if (ev.id !== id) throw new Error("id mismatch");
        expected.set(id, expired(v!.x) ? undefined : new Set(indexKeys(ev).map(keyText)));
        legacy.set(id, new Set(legacyIndexKeys(ev).map(keyText)));
      } catch {
        // Unreadable, or the created index entry holding its JSON is gone, which after expiry
        // is only KV sweeping that key first.
        if (!expired(v?.x ?? expiryOf(values[i]!))) report.badEvents.push(id);
        expected.set(id, undefined);
      }
    });
  };
  let ids: string[] = [];
  let values: Uint8Array[] = [];
  for await (const e of kv.list<Uint8Array>({ prefix: [P.event] })) {
    report.events++;
    ids.push(idHex(e.key[1] as Uint8Array));
    values.push(e.value);
    if (ids.length === 500) {
      await check(ids, values);
      ids = [];
      values = [];
    }
  }
  await check(ids, values);
  const found = new Set<string>();
  for (const prefix of INDEX_PREFIXES) {
    for await (const e of kv.list<Uint8Array>({ prefix: [prefix] })) {
      report.indexKeys++;
      const text = keyText(e.key);
      const id = uninvertId(e.key[e.key.length - 1] as Uint8Array);
      if (!expected.has(id)) {
        if (!expired(decodeEntry(e.value).x)) report.danglingIndex.push(text);
        continue;
      }
      const keys = expected.get(id);
      if (keys && !keys.has(text) && !legacy.get(id)?.has(text)) report.strayIndex.push(text);
      found.add(text);
    }
  }
  for (const keys of expected.values()) {
    if (keys) { for (const k of keys) if (!found.has(k)) report.missingIndex.push(k); }
  }
  for await (const e of kv.list<Pointer>({ prefix: [P.pointer] })) {
    if (expected.has(e.value.id)) continue;
    // A pointer to an expired event may outlive it until the sweep reaches it.
    const gone = await kv.get<Uint8Array>([P.event, idBytes(e.value.id)]);
    if (!gone.value) report.danglingPointers.push(`${keyText(e.key)} -> ${e.value.id}`);
  }
  return report;
}

/** True when a report found nothing wrong. */
export function consistent(r: StoreReport): boolean {
  return r.badEvents.length + r.missingIndex.length + r.danglingIndex.length +
      r.strayIndex.length + r.danglingPointers.length === 0;
}

function expiryOf(v: Uint8Array): number {
  try {
    return decodeEntry(v).x;
  } catch {
    return 0;
  }
}

function keyText(key: Deno.KvKey): string {
  return key.map((p) => p instanceof Uint8Array ? idHex(p) : JSON.stringify(p)).join("/");
}

if (import.meta.main) {
  const path = Deno.args[0] ?? Deno.env.get("NEXUS_KV_PATH") ?? "./data/nexus.sqlite";
  try {
    await Deno.stat(path);
  } catch {
    console.error(`check-store: no KV file at ${path}`);
    Deno.exit(2);
  }
  const kv = await Deno.openKv(path);
  const r = await checkStore(kv);
  kv.close();
  console.log(`check-store: ${r.events} events, ${r.indexKeys} index keys in ${path}`);
  const lists = ["badEvents", "missingIndex", "danglingIndex", "strayIndex", "danglingPointers"];
  for (const name of lists) {
    const list = r[name as keyof StoreReport] as string[];
    if (list.length === 0) continue;
    console.log(`${name}: ${list.length}`);
    for (const item of list.slice(0, 20)) console.log(`  ${item}`);
  }
  if (!consistent(r)) Deno.exit(1);
  console.log("check-store: consistent");
}
