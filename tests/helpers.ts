/** @module Test helpers: a real relay on a free loopback port and a small real WebSocket client. */
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools";
import { loadConfig } from "../config.ts";
import { createNexus, type Nexus, openKv } from "../server.ts";
import { serveNexus } from "../listen.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";

/** A relay running on 127.0.0.1 for one test. */
export interface TestRelay {
  url: string;
  http: string;
  nexus: Nexus;
  kvPath: string;
  close(): Promise<void>;
  /** Close, then delete the temporary KV (tests that reopen the KV call close() only). */
  dispose(): Promise<void>;
}

/**
 * Start a relay with environment overrides; KV in a fresh temporary file unless given. Auth and
 * rate limits are off unless a test turns them on, so bulk tests are not throttled.
 */
export async function startRelay(env: Record<string, string> = {}): Promise<TestRelay> {
  const dir = env.NEXUS_KV_PATH ? undefined : await Deno.makeTempDir({ prefix: "nexus-test-" });
  const kvPath = env.NEXUS_KV_PATH ?? `${dir}/nexus.sqlite`;
  const defaults = { NEXUS_AUTH: "off", NEXUS_RATE_LIMITS: "off" };
  const config = loadConfig((n) => ({ ...defaults, ...env, NEXUS_KV_PATH: kvPath })[n]);
  const nexus = createNexus(config, await openKv(kvPath));
  const serving = serveNexus(nexus, config, { hostname: "127.0.0.1", port: 0 });
  const port = serving.addr.port;
  const close = async () => {
    await nexus.close();
    await serving.shutdown();
  };
  return {
    url: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
    nexus,
    kvPath,
    close,
    async dispose() {
      await close();
      if (dir) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Run a test body against a fresh relay, closing the relay whatever happens. */
export async function withRelay(
  env: Record<string, string>,
  fn: (r: TestRelay) => Promise<void>,
): Promise<void> {
  const r = await startRelay(env);
  try {
    await fn(r);
  } finally {
    await r.dispose();
  }
}

/** Current unix time in seconds. */
export function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** A signing identity. */
export class Agent {
  readonly sk = generateSecretKey();
  readonly pubkey = getPublicKey(this.sk);

  /** Sign an event with sensible defaults. */
  sign(t: { kind?: number; tags?: string[][]; content?: string; created_at?: number }): NostrEvent {
    return finalizeEvent({
      kind: t.kind ?? 1,
      tags: t.tags ?? [],
      content: t.content ?? "",
      created_at: t.created_at ?? Math.floor(Date.now() / 1000),
    }, this.sk) as NostrEvent;
  }
}

type Msg = unknown[];

/** A minimal real WebSocket client that queues every message it receives. */
export class Client {
  readonly ws: WebSocket;
  readonly inbox: Array<Msg | string> = [];
  challenge = "";
  #waiters: Array<() => void> = [];
  #syncs = 0;
  readonly opened: Promise<void>;
  readonly closedP: Promise<CloseEvent>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((res, rej) => {
      this.ws.onopen = () => res();
      this.ws.onerror = (e) => rej(e);
    });
    this.closedP = new Promise((res) => this.ws.addEventListener("close", (e) => res(e)));
    this.ws.onmessage = (e) => {
      let m: Msg | string;
      try {
        m = JSON.parse(e.data);
      } catch {
        m = e.data;
      }
      if (Array.isArray(m) && m[0] === "AUTH") this.challenge = m[1] as string;
      else this.inbox.push(m);
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  /** Connect and wait for the relay's AUTH challenge. */
  static async connect(url: string): Promise<Client> {
    const c = new Client(url);
    await c.opened;
    await c.until(() => c.challenge !== "");
    return c;
  }

  /** Send a raw string or a JSON message. */
  send(m: Msg | string): void {
    this.ws.send(typeof m === "string" ? m : JSON.stringify(m));
  }

  /** Wait until a condition over the inbox holds. */
  async until(cond: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out; inbox: ${JSON.stringify(this.inbox).slice(0, 800)}`);
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Remove and return the first message matching a predicate, waiting for it. */
  async take(pred: (m: Msg | string) => boolean, ms = 5000): Promise<Msg> {
    let i = -1;
    await this.until(() => (i = this.inbox.findIndex(pred)) >= 0, ms);
    return this.inbox.splice(i, 1)[0] as Msg;
  }

  /** Publish an event and return its OK message. */
  async publish(ev: NostrEvent): Promise<[string, string, boolean, string]> {
    this.send(["EVENT", ev]);
    return await this.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === ev.id) as [
      string,
      string,
      boolean,
      string,
    ];
  }

  /** Authenticate as an agent with the relay's challenge. */
  async auth(agent: Agent, relayUrl = this.ws.url): Promise<Msg> {
    const ev = agent.sign({
      kind: 22242,
      tags: [["relay", relayUrl], ["challenge", this.challenge]],
    });
    this.send(["AUTH", ev]);
    return await this.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === ev.id);
  }

  /** Open a subscription and collect stored events up to EOSE (or the CLOSED refusal). */
  async req(id: string, ...filters: Filter[]): Promise<{ events: NostrEvent[]; closed?: string }> {
    this.send(["REQ", id, ...filters]);
    const end = await this.take((m) =>
      Array.isArray(m) && (m[0] === "EOSE" || m[0] === "CLOSED") && m[1] === id
    );
    const events: NostrEvent[] = [];
    for (let i = 0; i < this.inbox.length;) {
      const m = this.inbox[i]!;
      if (Array.isArray(m) && m[0] === "EVENT" && m[1] === id) {
        events.push(m[2] as NostrEvent);
        this.inbox.splice(i, 1);
      } else i++;
    }
    return end[0] === "CLOSED" ? { events, closed: end[2] as string } : { events };
  }

  /** Send a COUNT and return its count, or the CLOSED reason when refused. */
  async count(id: string, ...filters: Filter[]): Promise<number | string> {
    this.send(["COUNT", id, ...filters]);
    const m = await this.take((m) =>
      Array.isArray(m) && (m[0] === "COUNT" || m[0] === "CLOSED") && m[1] === id
    );
    return m[0] === "COUNT" ? (m[2] as { count: number }).count : m[2] as string;
  }

  /**
   * Round-trip a throwaway REQ so that everything the relay sent before it has arrived: lets a
   * test assert that something was NOT delivered without sleeping.
   */
  async sync(): Promise<void> {
    const id = `sync-${++this.#syncs}`;
    this.send(["REQ", id, { limit: 0 }]);
    await this.take((m) =>
      Array.isArray(m) && (m[0] === "EOSE" || m[0] === "CLOSED") && m[1] === id
    );
    this.send(["CLOSE", id]);
  }

  /** Messages in the inbox with a given verb (and subscription id, when given). */
  received(verb: string, sub?: string): Msg[] {
    return this.inbox.filter((m): m is Msg =>
      Array.isArray(m) && m[0] === verb && (sub === undefined || m[1] === sub)
    );
  }

  /** Wait for the next live EVENT on a subscription. */
  async nextEvent(id: string, ms = 5000): Promise<NostrEvent> {
    const m = await this.take((m) => Array.isArray(m) && m[0] === "EVENT" && m[1] === id, ms);
    return m[2] as NostrEvent;
  }

  /** Close the socket and wait until it is closed. */
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close();
      await this.closedP;
    }
  }
}
