import { lazy, useState, type ReactNode } from "react";
import { NavLink, Route, Routes } from "react-router";
import { Provider } from "urql";

import { makeClient } from "./api/client";
import { NotificationsMenu } from "./components/NotificationsMenu";
import { SignIn } from "./components/SignIn";
import { SignInAccount } from "./components/SignInAccount";
import { SignInGate } from "./components/SignInGate";
import { useAuth, useSignInGate } from "./hooks/useAuth";
import { HeaderMe } from "./pages/profile/HeaderMe";
import { useProfileTimeZone } from "./pages/profile/useProfileTimeZone";
import { useServiceSettings } from "./serviceSettings";

/** The pages, once the profile's time zone (moments are shown in it) and the service's currency
 * (money figures show it) are known. */
function ProfileZone({ signedIn, open, children }: { signedIn: boolean; open: boolean; children: ReactNode }) {
  const zoneKnown = useProfileTimeZone(signedIn);
  const settingsKnown = useServiceSettings(signedIn || open);
  if (!zoneKnown || !settingsKnown) {
    return (
      <p role="status" className="page-loading">
        Loading the page…
      </p>
    );
  }
  return children;
}

// Each page is its own chunk: the first load fetches the shell and the page it opens.
const DashboardPage = lazy(() => import("./pages/dashboard/DashboardPage"));
const UploadPage = lazy(() => import("./pages/upload/UploadPage"));
const TasksPage = lazy(() => import("./pages/tasks/TasksPage"));
const TaskPage = lazy(() => import("./pages/tasks/TaskPage"));
const StatusPage = lazy(() => import("./pages/StatusPage"));
const PerformancePage = lazy(() => import("./pages/performance/PerformancePage"));
const WorkbookPage = lazy(() => import("./pages/workbook/WorkbookPage"));
const WorkbooksPage = lazy(() => import("./pages/workbooks/WorkbooksPage"));
const UserPage = lazy(() => import("./pages/profile/UserPage"));
const MePage = lazy(() => import("./pages/profile/MePage"));
const ActionsPage = lazy(() => import("./pages/actions/ActionsPage"));
const NotFoundPage = lazy(() => import("./pages/NotFoundPage"));

const NAV = [
  { to: "/", label: "Dashboard" },
  { to: "/workbooks", label: "Workbooks" },
  { to: "/upload", label: "Upload" },
  { to: "/tasks", label: "Tasks" },
  { to: "/status", label: "Status" },
  { to: "/performance", label: "Performance" },
];
// Pages for signed-in people only (their own things).
const SIGNED_IN_NAV = [{ to: "/actions", label: "Actions" }];

export function App() {
  const { generation, status } = useAuth();
  const signedIn = status === "session" || status === "token";
  const gate = useSignInGate(); // "app" once signed in (or on a service without sign-in)
  // A new client (and an empty cache) after each sign-in or sign-out: every widget asks again.
  // Kept in state, not useMemo, which React may recompute (a new client) whenever it likes.
  const [session, setSession] = useState(() => ({ generation, client: makeClient() }));
  if (session.generation !== generation) setSession({ generation, client: makeClient() });
  const client = session.client; // React renders again at once with the new one
  return (
    <Provider value={client}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">Sales ingestion</span>
        <nav aria-label="Pages" hidden={gate !== "app"}>
          <ul>
            {(signedIn ? [...NAV, ...SIGNED_IN_NAV] : NAV).map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.to === "/"}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        {signedIn ? <NotificationsMenu /> : null}
        {status === "token" ? <HeaderMe /> : null}
        <SignInAccount />
      </header>
      <main id="main" tabIndex={-1}>
        <SignInGate
          fallback={
            <p role="status" className="page-loading">
              Loading the page…
            </p>
          }
        >
          <ProfileZone signedIn={signedIn} open={status === "open"}>
            <Routes>
              <Route path="/" element={<DashboardPage />} />
              <Route path="/upload" element={<UploadPage />} />
              <Route path="/tasks" element={<TasksPage />} />
              <Route path="/tasks/:taskId" element={<TaskPage />} />
              <Route path="/status" element={<StatusPage />} />
              <Route path="/performance" element={<PerformancePage />} />
              <Route path="/workbooks" element={<WorkbooksPage />} />
              <Route path="/workbooks/:id" element={<WorkbookPage />} />
              <Route path="/users/:name" element={<UserPage />} />
              <Route path="/me" element={<MePage />} />
              <Route path="/actions" element={<ActionsPage />} />
              <Route path="*" element={<NotFoundPage />} />
            </Routes>
          </ProfileZone>
        </SignInGate>
      </main>
      <SignIn />
    </Provider>
  );
}
