/**
 * @module Headless Chromium driven over the Chrome DevTools Protocol with Deno's own WebSocket,
 * so browser tests need no puppeteer or playwright.
 */

const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/** The Chromium binary, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const env = Deno.env.get("CHROMIUM");
  for (const p of env ? [env, ...CHROMIUM_CANDIDATES] : CHROMIUM_CANDIDATES) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* try the next one */ }
  }
  return undefined;
}

/** A CDP session over one WebSocket (a page target). */
export class CdpSession {
  #next = 1;
  #pending = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      const p = msg.id !== undefined ? this.#pending.get(msg.id) : undefined;
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.rej(new Error(`CDP error: ${JSON.stringify(msg.error)}`));
      else p.res(msg.result);
    };
    this.closed = new Promise((res) =>
      ws.addEventListener("close", () => {
        // Nothing more will arrive: fail what is still waiting instead of hanging.
        for (const p of this.#pending.values()) p.rej(new Error("CDP connection closed"));
        this.#pending.clear();
        res();
      })
    );
  }

  /** Connect to a DevTools WebSocket URL. */
  static async connect(url: string): Promise<CdpSession> {
    const ws = new WebSocket(url);
    await new Promise<void>((res, rej) => {
      ws.onopen = () => res();
      ws.onerror = () => rej(new Error(`cannot connect to ${url}`));
    });
    return new CdpSession(ws);
  }

  /** Send a CDP command and wait for its result. */
  send<T = Record<string, unknown>>(method: string, params: unknown = {}): Promise<T> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((res, rej) => {
      const t = setTimeout(() => {
        this.#pending.delete(id);
        rej(new Error(`CDP ${method} timed out`));
      }, 15_000);
      this.#pending.set(id, {
        res: (v) => (clearTimeout(t), res(v as T)),
        rej: (e) => (clearTimeout(t), rej(e)),
      });
    });
  }

  /** Evaluate an expression in the page and return its value. */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value: T }; exceptionDetails?: unknown }>(
      "Runtime.evaluate",
      { expression, returnByValue: true, awaitPromise: true },
    );
    if (r.exceptionDetails) throw new Error(`page threw: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }

  /** Close the socket. */
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close();
      await this.closed;
    }
  }
}

/** A running headless Chromium; always `close()` it in a finally block. */
export class Browser {
  #sessions: CdpSession[] = [];

  private constructor(
    readonly child: Deno.ChildProcess,
    readonly port: number,
    readonly profile: string,
    readonly drained: Promise<void>,
  ) {}

  /** Launch Chromium; throws with a clear message when it is not installed. */
  static async launch(): Promise<Browser> {
    const bin = findChromium();
    if (!bin) {
      throw new Error(
        "Chromium is not installed: the HUD browser test needs it (apt-get install chromium, " +
          "as .ci/run does), or set CHROMIUM to a Chrome/Chromium binary",
      );
    }
    const profile = await Deno.makeTempDir({ prefix: "nexus-chromium-" });
    const child = new Deno.Command(bin, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "--window-size=1280,2200",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Keep reading stderr after the banner: a full pipe would block Chromium.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const { promise: portP, resolve: found, reject: failed } = Promise.withResolvers<number>();
    const drained = (async () => {
      let buf = "";
      let done = false;
      while (true) {
        const { value, done: end } = await reader.read();
        if (end) break;
        if (done) continue;
        buf += value;
        const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(buf);
        if (m) {
          done = true;
          found(Number(m[1]));
        }
      }
      if (!done) failed(new Error(`Chromium exited before DevTools started:\n${buf.slice(-2000)}`));
    })();
    const timer = setTimeout(() => failed(new Error("Chromium did not start in 20 s")), 20_000);
    try {
      const port = await portP;
      return new Browser(child, port, profile, drained);
    } catch (err) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await drained;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Open a new page at a URL and return a session attached to it. */
  async open(url: string): Promise<CdpSession> {
    const res = await fetch(`http://127.0.0.1:${this.port}/json/version`);
    const { webSocketDebuggerUrl } = await res.json();
    const browser = await CdpSession.connect(webSocketDebuggerUrl);
    this.#sessions.push(browser);
    const { targetId } = await browser.send<{ targetId: string }>("Target.createTarget", { url });
    const page = await CdpSession.connect(
      `ws://127.0.0.1:${this.port}/devtools/page/${targetId}`,
    );
    this.#sessions.push(page);
    return page;
  }

  /** Kill Chromium and remove its profile; safe to call on any path. */
  async close(): Promise<void> {
    // Ask Chromium to quit so it takes its helper processes down with it; kill it if it lingers.
    const browser = this.#sessions[0];
    if (browser) await browser.send("Browser.close").catch(() => {});
    for (const s of this.#sessions) await s.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.child.status.then(() => true),
      new Promise<false>((res) => (timer = setTimeout(() => res(false), 3000))),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }
    await this.child.status;
    await this.drained;
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}
