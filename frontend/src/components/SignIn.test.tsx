import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";

import { authHeaders, requireSignIn, resetAuthForTests, signOut } from "../api/auth";
import { SignIn } from "./SignIn";

describe("SignIn", () => {
  beforeEach(() => {
    signOut();
    resetAuthForTests();
  });

  it("is closed until the server answers 401", () => {
    render(<SignIn />);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("asks for a token after a 401 and keeps it in sessionStorage", async () => {
    render(<SignIn />);
    act(() => requireSignIn("missing token"));
    const dialog = screen.getByRole("dialog", { name: "Sign in" });
    expect(dialog).toHaveTextContent("missing token");
    await userEvent.type(screen.getByLabelText("API token"), "sit_example");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(window.sessionStorage.getItem("sales-ingest.token")).toBe("sit_example");
    expect(authHeaders()).toEqual({ Authorization: "Bearer sit_example" });
    expect(screen.queryByRole("dialog")).toBeNull();
  });
});
