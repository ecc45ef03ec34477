import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API so the cookie session works on one origin, as it
// does when `wehostvoip serve` serves the built console. The proxied requests carry
// the API's own origin: the API refuses mutations and sockets from other origins.
const api = process.env.WEHOSTVOIP_API ?? "http://127.0.0.1:8000";
const asTheApi = { target: api, headers: { origin: new URL(api).origin } };

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, target: "es2022" },
  server: {
    proxy: {
      "/graphql": { ...asTheApi, ws: true },
      "/media": asTheApi,
      "/downloads": asTheApi,
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
  },
});
