import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { getAuthState, resetAuthForTests, startAuth } from "../api/auth";
import { App } from "../App";
import { SignIn } from "../components/SignIn";
import { fakeServer, json, SESSION } from "../test/fakeServer";
import SignInPage, { asSentence } from "./SignInPage";

const PASSWORD_ONLY = { password: true, oidc: null };
const WITH_SSO = { password: true, oidc: { label: "Sign in with Example ID", start: "/api/auth/oidc/start" } };

function Where() {
  const location = useLocation();
  return <output data-testid="where">{`${location.pathname}${location.search}`}</output>;
}

function renderPage(url = "/sign-in") {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <SignInPage />
      <SignIn />
    </MemoryRouter>,
  );
}

async function signInAs(name: string, password: string) {
  await userEvent.type(screen.getByLabelText("Name"), name);
  await userEvent.type(screen.getByLabelText("Password"), password);
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("SignInPage", () => {
  beforeEach(() => {
    window.sessionStorage.clear();
    resetAuthForTests();
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks for a name and a password the browser can fill in", async () => {
    fakeServer({ "GET /api/auth/methods": json(200, PASSWORD_ONLY) });
    renderPage();
    expect(screen.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    expect(screen.getByLabelText("Name")).toHaveAttribute("autocomplete", "username");
    expect(screen.getByLabelText("Password")).toHaveAttribute("autocomplete", "current-password");
    expect(screen.getByLabelText("Password")).toHaveAttribute("type", "password");
    await waitFor(() => expect(screen.getByRole("button", { name: "Use an API token instead" })).toBeVisible());
  });

  it("shows a wrong password as the server's sentence", async () => {
    fakeServer({
      "GET /api/auth/methods": json(200, PASSWORD_ONLY),
      "POST /api/auth/login": json(401, { error: "the name or password is not right", code: "unauthorized" }),
    });
    renderPage();
    await signInAs("ada", "wrong password");
    expect(await screen.findByRole("alert")).toHaveTextContent("The name or password is not right.");
    expect(screen.getByLabelText("Password")).toHaveValue("");
    expect(screen.queryByRole("dialog")).toBeNull(); // no token dialog for a wrong password
  });

  it("says when to try again after too many attempts", async () => {
    fakeServer({
      "GET /api/auth/methods": json(200, PASSWORD_ONLY),
      "POST /api/auth/login": json(429, { error: "too many sign-in attempts" }, { "Retry-After": "120" }),
    });
    renderPage();
    await signInAs("ada", "wrong password");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Too many sign-in attempts.");
    expect(alert).toHaveTextContent("Try again in 2 minutes.");
  });

  it("offers single sign-on only when the service has it", async () => {
    fakeServer({ "GET /api/auth/methods": json(200, WITH_SSO) });
    const { unmount } = renderPage();
    const link = await screen.findByRole("link", { name: "Sign in with Example ID" });
    expect(link).toHaveAttribute("href", "/api/auth/oidc/start");
    unmount();

    fakeServer({ "GET /api/auth/methods": json(200, PASSWORD_ONLY) });
    renderPage();
    await waitFor(() => expect(vi.mocked(fetch)).toHaveBeenCalled());
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(screen.queryByRole("link")).toBeNull();
  });

  it("never links single sign-on to another site", async () => {
    fakeServer({
      "GET /api/auth/methods": json(200, { password: true, oidc: { label: "Sign in", start: "https://evil.test/" } }),
    });
    renderPage();
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(screen.queryByRole("link")).toBeNull();
  });

  it("explains a used or expired sign-in link, and a failed single sign-on", () => {
    fakeServer({ "GET /api/auth/methods": json(200, PASSWORD_ONLY) });
    const { unmount } = renderPage("/sign-in?error=link");
    expect(screen.getByRole("alert")).toHaveTextContent(
      "This sign-in link was already used or has expired. Ask an administrator for a new one.",
    );
    unmount();
    renderPage("/sign-in?error=sso");
    expect(screen.getByRole("alert")).toHaveTextContent("Single sign-on did not sign you in.");
  });

  it("opens the token form on request", async () => {
    fakeServer({ "GET /api/auth/session": json(401, { error: "no session" }), "GET /api/auth/methods": json(200, {}) });
    await startAuth();
    renderPage();
    await userEvent.click(screen.getByRole("button", { name: "Use an API token instead" }));
    const dialog = screen.getByRole("dialog", { name: "Sign in" });
    expect(dialog).toHaveTextContent("Sign in with an API token instead of a name and password.");
    await userEvent.type(screen.getByLabelText("API token"), "sit_x");
    await userEvent.click(screen.getAllByRole("button", { name: "Sign in" }).at(-1)!);
    expect(getAuthState()).toMatchObject({ status: "token", token: "sit_x" });
  });

  it("turns the server's short messages into sentences", () => {
    expect(asSentence("the name or password is not right")).toBe("The name or password is not right.");
    expect(asSentence("Done!")).toBe("Done!");
  });
});

describe("the app without a session or a token", () => {
  beforeEach(() => {
    window.sessionStorage.clear();
    resetAuthForTests();
  });
  afterEach(() => vi.unstubAllGlobals());

  it("opens on the sign-in page, nothing behind it, and returns to the page asked for", async () => {
    const { sent } = fakeServer({
      "GET /api/auth/session": json(401, { error: "no session" }),
      "GET /api/auth/methods": json(200, PASSWORD_ONLY),
      "POST /api/auth/login": json(200, SESSION),
      "POST /graphql": json(200, { data: null }),
    });
    render(
      <MemoryRouter initialEntries={["/status"]}>
        <App />
        <Where />
      </MemoryRouter>,
    );
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    expect(screen.getByTestId("where")).toHaveTextContent("/sign-in?next=%2Fstatus");
    expect(screen.queryByRole("navigation", { name: "Pages" })).toBeNull();
    expect(sent.filter((request) => request.path === "/graphql")).toHaveLength(0);

    await signInAs("ada", "correct horse battery");
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent(/^\/status$/));
    expect(screen.getByRole("button", { name: "Ada Lovelace" })).toBeVisible();
  });

  it("signs out from the header's menu, back to the sign-in page", async () => {
    fakeServer({
      "GET /api/auth/session": json(200, SESSION),
      "GET /api/auth/methods": json(200, PASSWORD_ONLY),
      "POST /api/auth/logout": json(204, null),
      "POST /graphql": json(200, { data: null }),
    });
    render(
      <MemoryRouter initialEntries={["/tasks"]}>
        <App />
        <Where />
      </MemoryRouter>,
    );
    const person = await screen.findByRole("button", { name: "Ada Lovelace" });
    expect(screen.getByRole("button", { name: "Sign out", hidden: true })).not.toBeVisible();
    await userEvent.click(person);
    expect(person).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByRole("button", { name: "Sign out everywhere" })).toBeVisible();
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    expect(screen.getByTestId("where")).toHaveTextContent(/^\/sign-in$/);
  });
});
