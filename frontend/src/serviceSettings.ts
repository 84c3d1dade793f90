import { useQuery } from "urql";

import { setCurrency } from "./format";
import { graphql } from "./gql";

export const ServiceSettingsQuery = graphql(`
  query ServiceSettings {
    serviceSettings {
      currency
    }
  }
`);

/** Applies the service's settings to how figures are shown (the currency of money figures, set
 * by CURRENCY on the server); false until the service has answered, so money is not shown as
 * plain numbers first. Paused (true at once) when `ask` is false. */
export function useServiceSettings(ask: boolean): boolean {
  const [result] = useQuery({ query: ServiceSettingsQuery, pause: !ask });
  const answered = !ask || result.data !== undefined || result.error !== undefined;
  setCurrency(result.data?.serviceSettings.currency ?? null);
  return answered;
}
