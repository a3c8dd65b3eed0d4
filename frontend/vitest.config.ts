import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import path from "node:path";

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    setupFiles: ["test/setup.ts"],
    // A test may wait several times for up to the five seconds test/setup.ts gives findBy and
    // waitFor on this 2-core machine; vitest's own 5 s per test cut such tests short.
    testTimeout: 20_000,
  },
});
