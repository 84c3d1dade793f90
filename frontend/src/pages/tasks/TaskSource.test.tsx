import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { clientFor, renderWith } from "../actions/testing";
import { TaskSource } from "./TaskSource";

describe("TaskSource", () => {
  it("names the action and run that fetched a task's file, with a link to the actions", async () => {
    const { client, named } = clientFor({
      TaskActionName: () => ({ data: { action: { __typename: "Action", id: "a1", name: "Shop feed" } } }),
    });
    renderWith(client, <TaskSource source={{ id: "a1", runId: "0cfe9e94aaaabbbb" }} />);
    const link = await screen.findByRole("link", { name: "“Shop feed”" });
    expect(link).toHaveAttribute("href", "/actions");
    expect(screen.getByTestId("task-source")).toHaveTextContent(
      "Fetched by the action “Shop feed” (run 0cfe9e94), not uploaded by hand.",
    );
    expect(named("TaskActionName")[0]?.variables).toEqual({ id: "a1" });
  });

  it("shows the action's id when its name cannot be read", async () => {
    const { client } = clientFor({ TaskActionName: () => ({ data: { action: null } }) });
    renderWith(client, <TaskSource source={{ id: "5994aedaffff", runId: null }} />);
    expect(await screen.findByRole("link", { name: "5994aeda" })).toHaveAttribute("href", "/actions");
    expect(screen.getByTestId("task-source")).toHaveTextContent(
      "Fetched by the action 5994aeda, not uploaded by hand.",
    );
  });
});
