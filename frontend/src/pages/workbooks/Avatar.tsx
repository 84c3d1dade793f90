import { initials } from "./params";

/** A person's initials in a circle; decorative: their name is always written next to it. */
export function Avatar({ name, large = false }: { name: string; large?: boolean }) {
  return (
    <span className={large ? "avatar avatar-large" : "avatar"} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
