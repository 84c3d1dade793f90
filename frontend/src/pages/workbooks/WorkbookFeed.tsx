import { useEffect, useId, useRef } from "react";
import { Link } from "react-router";

import { formatDate } from "../../format";
import { useWidgetQuery } from "../../hooks/useWidgetQuery";
import { Widget } from "../../components/Widget";
import { WorkbookFeedQuery } from "./queries";
import type { WorkbookCardData } from "./WorkbookCard";

const SECTIONS = [
  { key: "recent", title: "Your recent workbooks", empty: "You have not saved a workbook yet." },
  { key: "favorites", title: "Your favorites", empty: "Select the star on a workbook to keep it here." },
  { key: "popular", title: "Popular in the last 30 days", empty: "Nobody has opened a workbook in 30 days." },
  { key: "sharedWithMe", title: "Shared with you", empty: "Nobody has shared a workbook with you yet." },
] as const;

function FeedList({ title, empty, items }: { title: string; empty: string; items: WorkbookCardData[] }) {
  const headingId = useId();
  return (
    <section className="feed-section" aria-labelledby={headingId}>
      <h3 id={headingId}>{title}</h3>
      {items.length === 0 ? (
        <p className="widget-empty">{empty}</p>
      ) : (
        <ul className="feed-list">
          {items.slice(0, 5).map((workbook) => (
            <li key={workbook.id}>
              <Link to={`/workbooks/${encodeURIComponent(workbook.id)}`}>{workbook.title}</Link>{" "}
              <span className="muted">
                by {workbook.owner}, updated <time dateTime={workbook.updatedAt}>{formatDate(workbook.updatedAt)}</time>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The home feed above the list when nothing narrows it; asked again when `generation` changes
 * (a workbook was imported). */
export function WorkbookFeed({ generation = 0 }: { generation?: number }) {
  const q = useWidgetQuery(WorkbookFeedQuery, {});
  const { refetch } = q;
  const seen = useRef(generation);
  useEffect(() => {
    if (seen.current === generation) return;
    seen.current = generation;
    refetch();
  }, [generation, refetch]);
  const feed = q.data?.workbookFeed;
  return (
    <Widget
      title="Your feed"
      className="workbook-feed"
      fetching={q.fetching}
      error={q.error}
      hasData={q.hasData}
      onRetry={q.refetch}
    >
      {feed ? (
        <div className="feed-grid">
          {SECTIONS.map((section) => (
            <FeedList key={section.key} title={section.title} empty={section.empty} items={feed[section.key]} />
          ))}
        </div>
      ) : null}
    </Widget>
  );
}
