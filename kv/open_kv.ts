/** @module Opening the Deno KV at a configured path. */
import { dirname } from "node:path";
import { retryLocked } from "./locked.ts";

/** Open the KV at the configured path, creating its directory. */
export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  if (path && path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  // Every `deno serve --parallel` worker opens the file at once: opening can meet the same busy
  // file as the first writes do, and an isolate that failed here would never serve.
  return await retryLocked(() => Deno.openKv(path));
}
