/** @module A lean benchmark client: raw WebSocket, pre-serialised messages, timestamps on receipt. */

/** A benchmark connection with handlers keyed by message type. */
export class BenchClient {
  readonly ws: WebSocket;
  challenge = "";
  onOk?: (id: string, ok: boolean, msg: string, at: number) => void;
  /** Live or stored events: subscription, event id and the raw message (parse it only if needed). */
  onEvent?: (sub: string, id: string, raw: string, at: number) => void;
  onEose?: (sub: string, at: number) => void;
  onClosed?: (sub: string, msg: string) => void;
  #authWaiter?: (answer: { ok: boolean; message: string }) => void;
  #authId = "";

  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.onmessage = (e) => {
      const at = performance.now();
      const data = e.data as string;
      // EVENT messages dominate a query phase; slice out sub and id instead of parsing them, so the
      // load generator is not the bottleneck.
      if (data.startsWith('["EVENT","')) {
        const subEnd = data.indexOf('"', 10);
        const idAt = data.indexOf('"id":"', subEnd);
        if (subEnd > 0 && idAt > 0) {
          this.onEvent?.(data.slice(10, subEnd), data.slice(idAt + 6, idAt + 70), data, at);
          return;
        }
      }
      const m = JSON.parse(data);
      switch (m[0]) {
        case "AUTH":
          this.challenge = m[1];
          break;
        case "OK":
          if (m[1] === this.#authId && this.#authWaiter) {
            return this.#authWaiter({ ok: m[2], message: m[3] ?? "" });
          }
          this.onOk?.(m[1], m[2], m[3], at);
          break;
        case "EVENT":
          this.onEvent?.(m[1], m[2].id, data, at);
          break;
        case "EOSE":
          this.onEose?.(m[1], at);
          break;
        case "CLOSED":
          this.onClosed?.(m[1], m[2]);
          break;
      }
    };
  }

  /** Connect and wait for the challenge (or a short grace period for relays without AUTH). */
  static async connect(url: string): Promise<BenchClient> {
    const c = new BenchClient(url);
    await new Promise<void>((res, rej) => {
      c.ws.onopen = () => res();
      c.ws.onerror = () => rej(new Error(`cannot connect to ${url}`));
    });
    const until = Date.now() + 500;
    while (!c.challenge && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    return c;
  }

  /** Authenticate with a signer that builds the kind 22242 event; the relay's OK, or a timeout. */
  async auth(
    sign: (challenge: string) => { id: string },
  ): Promise<{ ok: boolean; message: string }> {
    const ev = sign(this.challenge);
    this.#authId = ev.id;
    const p = new Promise<{ ok: boolean; message: string }>((res) => this.#authWaiter = res);
    this.ws.send(JSON.stringify(["AUTH", ev]));
    return await withTimeout(p, 10_000, "no OK for AUTH");
  }

  /** Open a subscription; resolves at its EOSE, rejects on CLOSED (with the relay's reason). */
  subscribe(id: string, ...filters: unknown[]): Promise<void> {
    const done = new Promise<void>((res, rej) => {
      this.onEose = (sub) => sub === id && res();
      this.onClosed = (sub, msg) => sub === id && rej(new Error(`REQ ${id} refused: ${msg}`));
    });
    this.ws.send(JSON.stringify(["REQ", id, ...filters]));
    return withTimeout(done, 30_000, `no EOSE for REQ ${id}`);
  }

  send(s: string): void {
    this.ws.send(s);
  }

  close(): void {
    this.ws.close();
  }
}

/** A promise that rejects with `what` if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Percentile of a numeric sample (nearest rank). */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
