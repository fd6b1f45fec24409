/** A verification thread that says it is ready, then fails on its first batch (verifier_test.ts). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = () => {
  throw new Error("this thread fails on purpose");
};
scope.postMessage("ready");
