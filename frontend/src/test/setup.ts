import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// findBy* and waitFor wait up to 5 s (1 s by default): these tests run on shared two-core
// machines beside a Druid cluster, where a render can take longer than a second. A wait that
// should fail still fails, later.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  window.sessionStorage.clear();
});
