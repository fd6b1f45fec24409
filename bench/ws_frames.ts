/**
 * What one WebSocket frame costs the sender: a server in a child process sends `frames` text
 * frames of 600 bytes over loopback, either one `socket.send` each through Deno's WebSocket (as
 * the relay does) or as the same bytes written raw, `batch` frames to a write (what a transport
 * that corks its writes would do). Prints the server's user and system CPU per frame. Run
 * `deno run -A bench/ws_frames.ts [frames=200000] [batch=50]`.
 */
import { processCpuSeconds } from "./relay_process.ts";

const [mode, portArg] = Deno.args;
const PAYLOAD = `["EVENT","s0",${JSON.stringify({ content: "x".repeat(600 - 29) })}]`;
const bytes = new TextEncoder().encode(PAYLOAD);
/** One unmasked server text frame: FIN + text opcode, 16-bit length. */
const frame = Uint8Array.of(0x81, 126, bytes.length >> 8, bytes.length & 255, ...bytes);

if (mode === "ws") {
  // Server: Deno's WebSocket, one send per frame.
  const server = Deno.serve({ port: 0, onListen: ({ port }) => console.log(port) }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => {
      const n = Number(e.data);
      for (let i = 0; i < n; i++) socket.send(PAYLOAD);
    };
    return response;
  });
  await server.finished;
} else if (mode === "raw") {
  // Server: the same frames written straight to TCP, `batch` to a write.
  const listener = Deno.listen({ port: 0 });
  console.log((listener.addr as Deno.NetAddr).port);
  for await (const conn of listener) {
    const buf = new Uint8Array(16);
    const got = await conn.read(buf);
    const [n, batch] = new TextDecoder().decode(buf.subarray(0, got ?? 0)).split(" ").map(Number);
    const chunk = new Uint8Array(frame.length * batch!);
    for (let i = 0; i < batch!; i++) chunk.set(frame, i * frame.length);
    for (let sent = 0; sent < n!; sent += batch!) {
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    }
  }
} else {
  const batch = Number(portArg ?? 50);
  // Whole batches, so both modes send the same frames.
  const frames = Math.ceil(Number(mode ?? 200_000) / batch) * batch;
  if (bytes.length !== 600) throw new Error(`payload is ${bytes.length} bytes`);
  for (const kind of ["ws", "raw"]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, kind],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value);
    const cpu0 = await cpu(child.pid);
    const t0 = performance.now();
    if (kind === "ws") {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      await new Promise((r) => ws.onopen = r);
      let seen = 0;
      await new Promise<void>((done) => {
        ws.onmessage = () => ++seen === frames && done();
        ws.send(String(frames));
      });
      ws.close();
    } else {
      const conn = await Deno.connect({ port });
      await conn.write(new TextEncoder().encode(`${frames} ${batch}`));
      const want = frames * frame.length, buf = new Uint8Array(1 << 20);
      for (let got = 0; got < want;) got += (await conn.read(buf)) ?? want;
      conn.close();
    }
    const secs = (performance.now() - t0) / 1000;
    const [user, sys] = (await cpu(child.pid)).map((v, i) => v - cpu0[i]!);
    const per = (s: number) => (s / frames * 1e6).toFixed(2);
    console.log(
      `${kind === "ws" ? "WebSocket, a send a frame" : `raw TCP, ${batch} frames a write`}: ` +
        `${Math.round(frames / secs)} frames/s; server user ${per(user!)} us, ` +
        `system ${per(sys!)} us a frame`,
    );
    child.kill();
    await child.status;
  }
}

/** User and system CPU seconds of a process. */
async function cpu(pid: number): Promise<number[]> {
  const [all, sys] = [await processCpuSeconds(pid), await processCpuSeconds(pid, "system")];
  return [all - sys, sys];
}
