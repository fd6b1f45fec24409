/**
 * @module The agent-commerce JSON API (`/api/jobs`, `/api/providers`), a Hono sub-app served from
 * the job board's memory: no request scans the store. Schemas are documented in the README.
 */
import { isHex64 } from "../nostr/event.ts";
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { JobBoard } from "./job_board.ts";
import { JOB_STATES, type JobState } from "./job.ts";

const CURSOR = /^\d{1,15}:[0-9a-f]{64}$/;

/** A request the API refuses: its message is the JSON error a client gets with status 400. */
class BadRequest extends Error {}

/** Build the commerce API over a job board. */
export function createCommerceApi(board: JobBoard): Hono {
  const app = new Hono();
  app.use("/api/*", cors({ origin: "*", allowMethods: ["GET", "OPTIONS"] }));
  app.onError((err, c) => {
    if (err instanceof BadRequest) return c.json({ error: err.message }, 400);
    // A fault of ours is not the client's: say so, and keep the details in the log.
    console.error("commerce API:", err);
    return c.json({ error: "internal error" }, 500);
  });
  // A malformed path (an id with a slash, a trailing slash) is still an API error, so answer JSON
  // like every other API error rather than Hono's plain-text 404.
  app.notFound((c) => c.json({ error: "no such API path" }, 404));

  app.get("/api/jobs", (c) => {
    const q = c.req.query();
    const state = q.state;
    if (state !== undefined && !JOB_STATES.includes(state as JobState)) {
      throw new BadRequest(`state must be one of ${JOB_STATES.join(", ")}`);
    }
    if (q.cursor !== undefined && !CURSOR.test(q.cursor)) {
      throw new BadRequest("cursor is malformed");
    }
    return c.json(board.jobs({
      kind: int(q.kind, "kind", 0, 65535),
      state: state as JobState | undefined,
      provider: hex(q.provider, "provider"),
      customer: hex(q.customer, "customer"),
      limit: int(q.limit, "limit", 1, 500),
      cursor: q.cursor,
    }));
  });

  app.get("/api/jobs/:id", (c) => {
    const job = board.job(hex(c.req.param("id"), "id")!);
    return job ? c.json(job) : c.json({ error: "job not found" }, 404);
  });

  app.get("/api/providers", (c) => {
    return c.json({ providers: board.providers(int(c.req.query("kind"), "kind", 0, 65535)) });
  });

  app.get("/api/providers/:pubkey", (c) => {
    return c.json(board.provider(hex(c.req.param("pubkey"), "pubkey")!));
  });

  // The API only reads: any other method on its paths is refused as such (RFC 9110 405). Registered
  // last, so GET (and HEAD, served as GET) match first; OPTIONS is answered by the CORS handler.
  for (const path of ["/api/jobs", "/api/jobs/:id", "/api/providers", "/api/providers/:pubkey"]) {
    app.all(path, (c) =>
      c.json({ error: "method not allowed: the API only reads" }, 405, {
        allow: "GET, HEAD, OPTIONS",
      }));
  }
  return app;
}

function int(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new BadRequest(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function hex(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!isHex64(raw)) throw new BadRequest(`${name} must be 64 lowercase hex characters`);
  return raw;
}
