import { NavLink } from "react-router";
import { useQuery } from "urql";

import { HeaderMeQuery } from "./queries";

/** The signed-in person's display name in the header, linking to their settings. */
export function HeaderMe() {
  const [result] = useQuery({ query: HeaderMeQuery });
  const me = result.data?.me;
  if (!me) return null;
  return (
    <NavLink to="/me" className="header-me" title="Your profile and settings">
      {me.displayName || me.name}
    </NavLink>
  );
}
