import { requestJson } from "../../api/rest";

/** POST /api/users/me/password: `current` is required when the account already has a password. */
export async function changePassword(current: string, next: string): Promise<void> {
  await requestJson<null>("/api/users/me/password", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ current: current === "" ? null : current, new: next }),
  });
}
