import { useQuery } from "urql";

import { HeaderMeQuery } from "../profile/queries";
import { todayIn } from "./relativeRange";

/** Today's date (YYYY-MM-DD) in the profile's time zone (the browser's until the profile is known):
 * the day relative ranges count from. The header asks for the profile already; this reads its answer. */
export function useToday(): string {
  const [result] = useQuery({ query: HeaderMeQuery });
  return todayIn(result.data?.me?.timeZone ?? null);
}
