import { fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { Client, fetchExchange, Provider } from "urql";
import { describe, expect, it } from "vitest";

import UploadPage from "./UploadPage";

/** A client whose server knows one datasource, sales. */
function client() {
  const fetch = () =>
    Promise.resolve(
      new Response(JSON.stringify({ data: { datasources: [{ name: "sales" }] } }), {
        headers: { "Content-Type": "application/json" },
      }),
    );
  return new Client({ url: "/graphql", fetch, preferGetMethod: false, exchanges: [fetchExchange] });
}

describe("UploadPage", () => {
  it("checks the datasource name as it is typed, before any file is sent", async () => {
    render(
      <Provider value={client()}>
        <MemoryRouter>
          <UploadPage />
        </MemoryRouter>
      </Provider>,
    );
    const field = screen.getByLabelText("Datasource");
    expect(await screen.findByText("The file's rows will be added to the existing datasource sales.")).toBeVisible();

    fireEvent.change(field, { target: { value: "sales-2024" } });

    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(field).toHaveAccessibleDescription(
      "A datasource name has only letters, digits and underscores: “-” is not allowed.",
    );

    fireEvent.change(field, { target: { value: "sales_2024" } });

    expect(field).not.toHaveAttribute("aria-invalid");
    expect(field).toHaveAccessibleDescription("A new datasource named sales_2024 will be created.");
  });

  it("says in small print which files are sent in parts", () => {
    render(
      <Provider value={client()}>
        <MemoryRouter>
          <UploadPage />
        </MemoryRouter>
      </Provider>,
    );
    expect(screen.getByTestId("parts-threshold")).toHaveTextContent(
      "Files over 64 MB are sent in parts you can pause and resume.",
    );
  });
});
