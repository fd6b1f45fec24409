/** @module NIP-01 filters: parsing a client's filter and matching events against it. */
import { isHex64 } from "./event.ts";
import type { Filter, NostrEvent } from "./types.ts";

const TAG_KEY = /^#[a-zA-Z]$/;

/** Limits applied while parsing a filter. */
export interface FilterLimits {
  maxValues: number;
}

/** Parse and validate one filter from a REQ or COUNT; returns the filter or an `invalid:` reason. */
export function parseFilter(raw: unknown, limits: FilterLimits): Filter | string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return "invalid: a filter must be a JSON object";
  }
  const out: Filter = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    switch (key) {
      case "ids":
      case "authors": {
        const err = checkList(key, value, limits, isHex64);
        if (err) return err;
        out[key] = unique(value as string[]);
        break;
      }
      case "kinds": {
        const err = checkList(key, value, limits, isKind);
        if (err) return err;
        out.kinds = unique(value as number[]);
        break;
      }
      case "since":
      case "until":
      case "limit":
        if (!isTimestamp(value)) return `invalid: "${key}" must be a non-negative integer`;
        out[key] = value;
        break;
      default: {
        if (!TAG_KEY.test(key)) return `invalid: unsupported filter field ${JSON.stringify(key)}`;
        const strict = key === "#e" || key === "#p";
        const err = checkList(
          key,
          value,
          limits,
          (v) => typeof v === "string" && (!strict || isHex64(v)),
        );
        if (err) return err;
        out[key as `#${string}`] = unique(value as string[]);
      }
    }
  }
  return out;
}

function checkList(
  key: string,
  value: unknown,
  limits: FilterLimits,
  ok: (v: unknown) => boolean,
): string | undefined {
  if (!Array.isArray(value)) return `invalid: "${key}" must be an array`;
  if (value.length > limits.maxValues) {
    return `invalid: "${key}" has more than ${limits.maxValues} values`;
  }
  for (const v of value) if (!ok(v)) return `invalid: bad value in "${key}"`;
  return undefined;
}

/**
 * The values once each. A repeated value matches nothing more, but each copy would cost a KV scan,
 * an entry in the live subscription index and a check per event fanned out.
 */
function unique<T>(values: T[]): T[] {
  const set = new Set(values);
  return set.size === values.length ? values : [...set];
}

function isKind(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 65535;
}

function isTimestamp(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** The tag conditions of a filter as [letter, values] pairs. */
export function tagConditions(filter: Filter): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const key in filter) {
    if (key.length === 2 && key[0] === "#") out.push([key[1]!, filter[key as `#${string}`]!]);
  }
  return out;
}

/** True when the event satisfies every condition of the filter (limit is ignored). */
export function matchFilter(filter: Filter, ev: NostrEvent): boolean {
  if (filter.ids && !has(filter.ids, ev.id)) return false;
  if (filter.authors && !has(filter.authors, ev.pubkey)) return false;
  if (filter.kinds && !has(filter.kinds, ev.kind)) return false;
  if (filter.since !== undefined && ev.created_at < filter.since) return false;
  if (filter.until !== undefined && ev.created_at > filter.until) return false;
  for (const key in filter) {
    if (key.length !== 2 || key[0] !== "#") continue;
    const values = filter[key as `#${string}`]!;
    const letter = key[1];
    let hit = false;
    for (const t of ev.tags) {
      if (t[0] === letter && t[1] !== undefined && has(values, t[1])) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
  }
  return true;
}

/** Value lists longer than this are looked up through a Set, built once per list. */
const SET_FROM = 16;
const valueSets = new WeakMap<readonly unknown[], Set<unknown>>();

/**
 * Whether a filter's value list holds `v`. A live filter is matched against every event fanned out
 * to it, and an event may carry hundreds of tags: scanning a list of 1000 values for each tag
 * would cost a million comparisons an event.
 */
function has<T>(values: readonly T[], v: T): boolean {
  if (values.length < SET_FROM) return values.includes(v);
  let set = valueSets.get(values);
  if (!set) valueSets.set(values, set = new Set(values));
  return set.has(v);
}

/** True when the event matches any of the filters. */
export function matchFilters(filters: Filter[], ev: NostrEvent): boolean {
  for (const f of filters) if (matchFilter(f, ev)) return true;
  return false;
}

/** NIP-01 result order: newest first, ties broken by the lowest id. */
export function compareEvents(a: NostrEvent, b: NostrEvent): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
