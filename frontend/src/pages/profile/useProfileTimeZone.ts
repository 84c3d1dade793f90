import { useQuery } from "urql";

import { setDisplayTimeZone } from "../../format";
import { HeaderMeQuery } from "./queries";

/** Applies the signed-in person's time zone (their profile's) to how moments are shown; false
 * until the profile has answered, so pages do not render times in the browser's zone first. A
 * later change (saved on /me) applies to what renders after it. */
export function useProfileTimeZone(signedIn: boolean): boolean {
  const [result] = useQuery({ query: HeaderMeQuery, pause: !signedIn });
  const answered = !signedIn || result.data !== undefined || result.error !== undefined;
  setDisplayTimeZone((signedIn ? result.data?.me?.timeZone : null) ?? null); // a no-op when unchanged
  return answered;
}
