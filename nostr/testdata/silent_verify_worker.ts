/** A verification thread that says it is ready, then never answers (verifier_test.ts). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = () => {};
scope.postMessage("ready");
