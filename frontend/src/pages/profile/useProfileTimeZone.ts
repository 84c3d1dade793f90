import { useQuery } from "urql";

import { setDisplayTimeZone } from "../../format";
import { HeaderMeQuery } from "./queries";

/** The time zone of the signed-in person's profile, applied to how moments are shown; the
 * app's pages are keyed by it, so they render again when it arrives or changes. */
export function useProfileTimeZone(signedIn: boolean): string {
  const [result] = useQuery({ query: HeaderMeQuery, pause: !signedIn });
  const zone = (signedIn ? result.data?.me?.timeZone : null) ?? null;
  setDisplayTimeZone(zone); // before the pages render; nothing to do when it is the same
  return zone ?? "browser";
}
